import type { Queryable } from '../storage/db.js'
import type { RafikiTable } from './rafiki-rows.js'

/**
 * Reading Rafiki's tables for `opas import rafiki` inside the run's read-only snapshot, each
 * through a server-side cursor: PostgreSQL sorts a table once and the importer fetches it a batch
 * at a time, so a million grants cost one pass over each table and a batch's worth of memory.
 *
 * Why not a query per batch: Rafiki has no index on `accesses."grantId"` or `subjects."grantId"`
 * (knex's `foreign()` makes none), so fetching each grant batch's children by grant id would scan
 * those tables once per batch. Instead the children are read in grant order beside the grants
 * and merged (`ChildStream.through`), as a merge join would.
 */

let cursors = 0

/** Where a read starts: after a row (keyset), and from a moment of Rafiki's `updatedAt`. */
export interface ReadFrom {
  after: string | null
  since: Date | null
}

/**
 * The rows of a read. Nothing when reading everything, so the planner reads the whole table in
 * order. Rafiki sets `updatedAt` on every insert and update of every table (its BaseModel), so
 * the rows changed since a moment are those with `updatedAt` at or after it.
 */
function condition(key: 'id' | 'grantId', from: ReadFrom) {
  const terms: string[] = []
  const params: unknown[] = []
  if (from.after !== null) {
    params.push(from.after)
    terms.push(`"${key}" > $${params.length}::uuid`)
  }
  if (from.since !== null) {
    params.push(from.since)
    terms.push(`"updatedAt" >= $${params.length}`)
  }
  return { where: terms.length ? `where ${terms.join(' and ')}` : '', params }
}

/** One table of Rafiki's, in `order`, from the row after `after` (keyset on the first column). */
export class SourceCursor<T> {
  private constructor(
    private readonly src: Queryable,
    private readonly name: string
  ) {}

  /** `table`'s rows in `order` after `from.after` by `key`, changed at or after `from.since`. */
  static async open<T>(
    src: Queryable,
    table: RafikiTable,
    key: 'id' | 'grantId',
    order: string,
    from: ReadFrom
  ): Promise<SourceCursor<T>> {
    const name = `rafiki_${table}_${++cursors}`
    const { where, params } = condition(key, from)
    // The table, column and cursor names are ours (RafikiTable), never input.
    await src.query(
      `declare ${name} no scroll cursor for select * from "${table}" ${where} order by ${order}`,
      params
    )
    return new SourceCursor<T>(src, name)
  }

  /** Up to `n` rows more; fewer only at the end. */
  async next(n: number): Promise<T[]> {
    return (await this.src.query<T>(`fetch forward ${Math.trunc(n)} from ${this.name}`)).rows
  }
}

/**
 * A grant's children (access items, subjects), read in grant order, handed out grant batch by
 * grant batch: `through(lastGrantId)` returns every row of the grants up to and including that
 * one, and keeps the rows of later grants for the next call. UUIDs compare as PostgreSQL orders
 * them, since both are lower-case hex of the same bytes.
 */
export class ChildStream<T extends { grantId: string }> {
  private buffer: T[] = []
  private ended = false

  constructor(
    private readonly cursor: SourceCursor<T>,
    private readonly fetchSize: number
  ) {}

  async through(lastGrantId: string): Promise<T[]> {
    while (
      !this.ended &&
      (this.buffer.length === 0 || this.buffer.at(-1)!.grantId <= lastGrantId)
    ) {
      const rows = await this.cursor.next(this.fetchSize)
      if (rows.length < this.fetchSize) this.ended = true
      for (const row of rows) this.buffer.push(row)
    }
    const later = this.buffer.findIndex((row) => row.grantId > lastGrantId)
    const taken = later === -1 ? this.buffer : this.buffer.slice(0, later)
    this.buffer = later === -1 ? [] : this.buffer.slice(later)
    return taken
  }
}

/** How many rows of `table` a read from `from` by id will give, for the progress bar. */
export async function countFrom(
  src: Queryable,
  table: RafikiTable,
  from: ReadFrom
): Promise<number> {
  const { where, params } = condition('id', from)
  const { rows } = await src.query<{ n: string }>(
    `select count(*) as n from "${table}" ${where}`,
    params
  )
  return Number(rows[0]!.n)
}
