import type { Db, Queryable } from '../storage/db.js'
import { insertImported, type ImportTable } from './import-store.js'
import {
  mapAccess,
  mapAccessToken,
  mapGrant,
  mapInteraction,
  mapSubject,
  mapTenant,
  type Mapped,
  type RafikiAccess,
  type RafikiAccessToken,
  type RafikiGrant,
  type RafikiInteraction,
  type RafikiSubject,
  type RafikiTable,
  type RafikiTenant,
  type Skipped
} from './rafiki-rows.js'
import { checkRafikiMigrations, readRafikiMigrations } from './rafiki-source.js'

/**
 * `opas import rafiki` (issue 25): reads a Rafiki auth database in one read-only snapshot and
 * writes what it holds into opas's, in batches of one transaction each, tenants first and each
 * grant's access items and subjects with it. With `dryRun` every batch is written in one
 * transaction that is then rolled back, so the report says exactly what a real run would do and
 * nothing changes.
 */

export interface TableCount {
  /** Rows read from Rafiki. */
  read: number
  /** Rows new to opas, written (or, in a dry run, that would be). */
  imported: number
  /** Rows opas held already that took what moved forward in Rafiki since (import-store.ts). */
  advanced: number
  /** Rows opas holds already, as they are (an earlier run, or opas's own changes since). */
  present: number
  skipped: number
}

export interface ImportReport {
  dryRun: boolean
  tables: Record<RafikiTable, TableCount>
  skipped: Skipped[]
  notes: { table: RafikiTable; id: string; note: string }[]
}

export interface ImportOptions {
  /** The Rafiki auth database; only read. */
  source: Db
  target: Db
  /** AUTH_SERVER_URL, which Rafiki's finish hashes cover. */
  authServerUrl: string
  /** Seals a tenant's API secret as the tenant directory does (TENANT_SECRETS_KEY). */
  seal: (secret: string, tenantId: string) => Buffer
  dryRun?: boolean
  batchSize?: number
  /** Told after each batch: the table, rows done, rows in all. */
  onProgress?: (table: RafikiTable, done: number, total: number) => void
}

const importOrder: RafikiTable[] = [
  'tenants',
  'grants',
  'accesses',
  'subjects',
  'accessTokens',
  'interactions'
]
const targetTable: Record<RafikiTable, ImportTable> = {
  tenants: 'tenants',
  grants: 'grants',
  accesses: 'accesses',
  subjects: 'subjects',
  accessTokens: 'access_tokens',
  interactions: 'interactions'
}

const ROLLBACK = Symbol('dry run')

export async function importRafiki(options: ImportOptions): Promise<ImportReport> {
  const batchSize = options.batchSize ?? 2_000
  const report: ImportReport = {
    dryRun: options.dryRun === true,
    tables: Object.fromEntries(
      importOrder.map((t) => [t, { read: 0, imported: 0, advanced: 0, present: 0, skipped: 0 }])
    ) as Record<RafikiTable, TableCount>,
    skipped: [],
    notes: []
  }
  /** Grants left behind: what belongs to them is left behind too. */
  const skippedGrants = new Set<string>()

  /** Maps and writes one batch, with its children, in one transaction (the dry run's, when dry). */
  async function write<T extends object>(
    table: RafikiTable,
    mapped: Mapped<T>[],
    children: { table: RafikiTable; rows: Mapped<object>[] }[] = []
  ): Promise<void> {
    const keep = (t: RafikiTable, rows: Mapped<object>[]) => {
      const kept: object[] = []
      for (const m of rows) {
        report.tables[t].read++
        if ('skipped' in m) {
          report.tables[t].skipped++
          report.skipped.push(m.skipped)
          if (t === 'grants') skippedGrants.add(m.skipped.id)
          continue
        }
        const id = (m.row as { id: string }).id
        for (const note of m.notes) report.notes.push({ table: t, id, note })
        kept.push(m.row)
      }
      return kept
    }
    const batches = [{ table, rows: keep(table, mapped) }]
    for (const child of children)
      batches.push({ table: child.table, rows: keep(child.table, child.rows) })
    await inTarget(async (tx) => {
      for (const batch of batches) {
        const outcome = await insertImported(tx, targetTable[batch.table], batch.rows)
        const count = report.tables[batch.table]
        count.imported += outcome.inserted
        count.advanced += outcome.advanced
        count.present += outcome.unchanged
      }
    })
  }

  /** A real run commits each batch; a dry run writes all of them in one transaction it undoes. */
  let dryTx: Queryable | undefined
  const inTarget = (fn: (tx: Queryable) => Promise<void>) =>
    dryTx ? fn(dryTx) : options.target.transaction(fn)

  const run = () =>
    options.source.transaction(async (src) => {
      // One snapshot for the whole run: rows Rafiki writes meanwhile wait for the next run.
      await src.query('set transaction isolation level repeatable read, read only')
      checkRafikiMigrations(await readRafikiMigrations(src))

      await eachBatch<RafikiTenant>(src, 'tenants', batchSize, options, (rows) =>
        write(
          'tenants',
          rows.map((t) => mapTenant(t, options.seal))
        )
      )
      await eachBatch<RafikiGrant>(src, 'grants', batchSize, options, async (grants) => {
        const ids = grants.map((g) => g.id)
        const accesses = await childrenOf<RafikiAccess>(src, 'accesses', ids)
        const subjects = await childrenOf<RafikiSubject>(src, 'subjects', ids)
        const mapped = grants.map((g) => mapGrant(g, options.authServerUrl))
        const skipped = new Set(mapped.flatMap((m) => ('skipped' in m ? [m.skipped.id] : [])))
        await write('grants', mapped, [
          { table: 'accesses', rows: positioned('accesses', accesses, skipped, mapAccess) },
          { table: 'subjects', rows: positioned('subjects', subjects, skipped, mapSubject) }
        ])
      })
      await eachBatch<RafikiAccessToken>(src, 'accessTokens', batchSize, options, (rows) =>
        write(
          'accessTokens',
          rows.map((t) => orphaned('accessTokens', t, skippedGrants) ?? mapAccessToken(t))
        )
      )
      await eachBatch<RafikiInteraction>(src, 'interactions', batchSize, options, (rows) =>
        write(
          'interactions',
          rows.map((i) => orphaned('interactions', i, skippedGrants) ?? mapInteraction(i))
        )
      )
    })
  if (!options.dryRun) await run()
  else {
    await options.target
      .transaction(async (tx) => {
        dryTx = tx
        await run()
        throw ROLLBACK
      })
      .catch((err: unknown) => {
        if (err !== ROLLBACK) throw err
      })
  }
  return report
}

/** A row whose grant was left behind is left behind with it. */
function orphaned(
  table: RafikiTable,
  row: { id: string; grantId: string },
  skippedGrants: ReadonlySet<string>
): Mapped<never> | undefined {
  if (!skippedGrants.has(row.grantId)) return undefined
  return { skipped: { table, id: row.id, reason: `its grant ${row.grantId} was skipped` } }
}

/** Each grant's rows in the order Rafiki created them, numbered from 0 within the grant. */
function positioned<T extends { id: string; grantId: string }, R>(
  table: RafikiTable,
  rows: T[],
  skippedGrants: ReadonlySet<string>,
  map: (row: T, position: number) => Mapped<R>
): Mapped<R>[] {
  const next = new Map<string, number>()
  return rows.map((row) => {
    const gone = orphaned(table, row, skippedGrants)
    if (gone) return gone
    const position = next.get(row.grantId) ?? 0
    next.set(row.grantId, position + 1)
    return map(row, position)
  })
}

/** Rafiki's table, read in batches by id (keyset: each batch one index range scan). */
async function eachBatch<T extends { id: string }>(
  src: Queryable,
  table: RafikiTable,
  batchSize: number,
  options: Pick<ImportOptions, 'onProgress'>,
  fn: (rows: T[]) => Promise<void>
): Promise<void> {
  const total = Number(
    (await src.query<{ n: string }>(`select count(*) as n from "${table}"`)).rows[0]!.n
  )
  let after = '00000000-0000-0000-0000-000000000000'
  for (let done = 0; ;) {
    const { rows } = await src.query<T>(
      `select * from "${table}" where id > $1 order by id limit $2`,
      [after, batchSize]
    )
    if (rows.length === 0) return
    await fn(rows)
    done += rows.length
    after = rows.at(-1)!.id
    options.onProgress?.(table, done, total)
  }
}

/** The rows of `table` belonging to these grants, each grant's in creation order. */
async function childrenOf<T>(src: Queryable, table: RafikiTable, grantIds: string[]): Promise<T[]> {
  const { rows } = await src.query<T>(
    `select * from "${table}" where "grantId" = any($1::uuid[]) order by "grantId", "createdAt", id`,
    [grantIds]
  )
  return rows
}
