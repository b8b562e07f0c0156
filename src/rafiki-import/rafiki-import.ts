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
import { advanceRun, finishRun, lastRun, startRun, type ImportRun } from './import-progress.js'
import { ChildStream, countFrom, SourceCursor, type ReadFrom } from './rafiki-reader.js'
import { checkRafikiMigrations, RafikiSourceError, readRafikiMigrations } from './rafiki-source.js'

/**
 * `opas import rafiki` (issue 25): reads a Rafiki auth database in one read-only snapshot and
 * writes what it holds into opas's, in batches of one transaction each, tenants first and each
 * grant's access items and subjects with it. Each batch also records how far the run has got
 * (import-progress.ts), so a stopped run resumes after its last batch, and the run after a
 * finished one reads only what Rafiki changed since (unless `full`). With `dryRun` every batch
 * is written in one transaction that is then rolled back, so the report says exactly what a real
 * run would do and nothing changes.
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
  /** Where this run took over from an earlier one that was stopped, if it did. */
  resumed?: { phase: RafikiTable; afterId: string | null; startedAt: Date }
  /** Rows Rafiki last changed before this were not read (null: every row was). */
  since: Date | null
  tables: Record<RafikiTable, TableCount>
  skipped: Skipped[]
  notes: { table: RafikiTable; id: string; note: string }[]
}

export interface ImportOptions {
  /** The Rafiki auth database; only read. */
  source: Db
  /** Names the source (host, port, database; no credentials): the key of its run's position. */
  sourceName: string
  target: Db
  /** AUTH_SERVER_URL, which Rafiki's finish hashes cover. */
  authServerUrl: string
  /** Seals a tenant's API secret as the tenant directory does (TENANT_SECRETS_KEY). */
  seal: (secret: string, tenantId: string) => Buffer
  dryRun?: boolean
  /** Reads every row: neither resumes a stopped run nor reads only what changed since the last. */
  full?: boolean
  batchSize?: number
  /** Told after each batch: the table, rows done, rows in all. */
  onProgress?: (table: RafikiTable, done: number, total: number) => void
}

/** The order of the run: a grant's access items and subjects are written with it. */
const phases = ['tenants', 'grants', 'accessTokens', 'interactions'] as const
type Phase = (typeof phases)[number]
const reportOrder: RafikiTable[] = [
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

interface Batch {
  table: RafikiTable
  rows: Mapped<object>[]
}

export async function importRafiki(options: ImportOptions): Promise<ImportReport> {
  const batchSize = options.batchSize ?? 2_000
  const dryRun = options.dryRun === true
  const report: ImportReport = {
    dryRun,
    tables: Object.fromEntries(
      reportOrder.map((t) => [t, { read: 0, imported: 0, advanced: 0, present: 0, skipped: 0 }])
    ) as Record<RafikiTable, TableCount>,
    since: null,
    skipped: [],
    notes: []
  }
  /** Grants this run left behind: what belongs to them is left behind too, with that reason. */
  const skippedGrants = new Set<string>()

  /** Counts a batch's rows and returns the opas rows to write. */
  const keep = (table: RafikiTable, rows: Mapped<object>[]) => {
    const kept: object[] = []
    for (const m of rows) {
      report.tables[table].read++
      if ('skipped' in m) {
        report.tables[table].skipped++
        report.skipped.push(m.skipped)
        if (table === 'grants') skippedGrants.add(m.skipped.id)
        continue
      }
      const id = (m.row as { id: string }).id
      for (const note of m.notes) report.notes.push({ table, id, note })
      kept.push(m.row)
    }
    return kept
  }

  /** A real run commits each batch; a dry run writes all of them in one transaction it undoes. */
  let dryTx: Queryable | undefined
  const inTarget = (fn: (tx: Queryable) => Promise<void>) =>
    dryTx ? fn(dryTx) : options.target.transaction(fn)

  /**
   * Writes one batch of `phase` (with its grants' children) in one transaction, together with
   * the run's position after it. Rows of a grant opas does not hold are left behind.
   */
  const write = (phase: Phase, lastId: string, batches: Batch[]) =>
    inTarget(async (tx) => {
      /** The grants this batch writes: its children need not look them up. */
      const written = new Set<string>()
      for (const batch of batches) {
        // A grant batch's own grants go in first, so its children find them.
        const rows =
          batch.table === 'tenants' || batch.table === 'grants'
            ? batch.rows
            : await ofGrantsInOpas(tx, batch.table, batch.rows, written, skippedGrants)
        if (batch.table === 'grants') {
          for (const m of rows) if ('row' in m) written.add((m.row as { id: string }).id)
        }
        const outcome = await insertImported(tx, targetTable[batch.table], keep(batch.table, rows))
        const count = report.tables[batch.table]
        count.imported += outcome.inserted
        count.advanced += outcome.advanced
        count.present += outcome.unchanged
      }
      if (!dryRun) await advanceRun(tx, options.sourceName, phase, lastId)
    })

  const run = () =>
    options.source.transaction(async (src) => {
      // One snapshot for the whole run: rows Rafiki writes meanwhile wait for the next run.
      await src.query('set transaction isolation level repeatable read, read only')
      checkRafikiMigrations(await readRafikiMigrations(src))

      const snapshotAt = (await src.query<{ now: Date }>('select now() as now')).rows[0]!.now
      const { plan, resumed } = await planRun(options, snapshotAt)
      report.since = plan.since
      if (resumed) {
        report.resumed = { phase: plan.phase, afterId: plan.afterId, startedAt: plan.startedAt }
      }
      if (!dryRun) await startRun(options.target, options.sourceName, plan)
      /** Where this run reads `phase` from; none when the run it resumes was past it. */
      const from = (phase: Phase): ReadFrom | undefined => {
        const [now, stopped] = [phases.indexOf(phase), phases.indexOf(plan.phase as Phase)]
        if (now < stopped) return undefined
        return { after: now === stopped ? plan.afterId : null, since: plan.since }
      }
      /** `phase`'s table in batches, unless the run this one resumes was past it. */
      const read = <T>(phase: Phase, handle: (rows: T[]) => Promise<void>) => {
        const start = from(phase)
        if (start === undefined) return
        return eachBatch<T>(src, phase, start, batchSize, handle, options.onProgress)
      }

      await read<RafikiTenant>('tenants', (rows) =>
        write('tenants', rows.at(-1)!.id, [
          { table: 'tenants', rows: rows.map((t) => mapTenant(t, options.seal)) }
        ])
      )
      const start = from('grants')
      if (start !== undefined) {
        const children = <T extends { grantId: string }>(table: 'accesses' | 'subjects') =>
          SourceCursor.open<T>(src, table, 'grantId', '"grantId", "createdAt", id', start).then(
            (cursor) => new ChildStream(cursor, batchSize)
          )
        const accesses = await children<RafikiAccess>('accesses')
        const subjects = await children<RafikiSubject>('subjects')
        await read<RafikiGrant>('grants', async (grants) => {
          const last = grants.at(-1)!.id
          // The children of a grant left behind are left behind with it (ofGrantsInOpas).
          await write('grants', last, [
            { table: 'grants', rows: grants.map((g) => mapGrant(g, options.authServerUrl)) },
            { table: 'accesses', rows: positioned(await accesses.through(last), mapAccess) },
            { table: 'subjects', rows: positioned(await subjects.through(last), mapSubject) }
          ])
        })
      }
      await read<RafikiAccessToken>('accessTokens', (rows) =>
        write('accessTokens', rows.at(-1)!.id, [
          { table: 'accessTokens', rows: rows.map(mapAccessToken) }
        ])
      )
      await read<RafikiInteraction>('interactions', (rows) =>
        write('interactions', rows.at(-1)!.id, [
          { table: 'interactions', rows: rows.map(mapInteraction) }
        ])
      )
      if (!dryRun) await finishRun(options.target, options.sourceName)
    })
  // One run per source at a time: the lock lives as long as this transaction, which a real run
  // only holds open (its batches commit on their own), and a dry run writes in.
  await options.target
    .transaction(async (tx) => {
      await holdImportLock(tx, options.sourceName)
      if (!dryRun) return run()
      dryTx = tx
      await run()
      throw ROLLBACK
    })
    .catch((err: unknown) => {
      if (err !== ROLLBACK) throw err
    })
  return report
}

/** Any constant, the same in every opas; the second key is the source's. */
const IMPORT_LOCK_KEY = 25

async function holdImportLock(tx: Queryable, sourceName: string): Promise<void> {
  const { rows } = await tx.query<{ locked: boolean }>(
    'select pg_try_advisory_xact_lock($1, hashtext($2)) as locked',
    [IMPORT_LOCK_KEY, sourceName]
  )
  if (!rows[0]!.locked) {
    throw new RafikiSourceError(
      `another opas import from ${sourceName} is running; wait for it to end, then run this again`
    )
  }
}

/**
 * Rafiki stamps `updatedAt` by its own servers' clocks, before its transaction commits: the run
 * after a finished one reads back this much further than that run's snapshot, so that neither a
 * clock somewhat behind nor a commit somewhat late hides a change (a revocation above all).
 */
const DELTA_MARGIN_MS = 3_600_000

/**
 * What this run reads: where a stopped run from this source left off (a dry run reads it all,
 * from the same moment); what changed since an hour before the last finished run's snapshot;
 * or, the first time or with `full`, everything.
 */
async function planRun(
  options: ImportOptions,
  snapshotAt: Date
): Promise<{ plan: ImportRun; resumed: boolean }> {
  const last = options.full ? undefined : await lastRun(options.target, options.sourceName)
  if (last && !last.finished && !options.dryRun) return { plan: last, resumed: true }
  const since =
    last === undefined
      ? null
      : last.finished
        ? new Date(last.snapshotAt.getTime() - DELTA_MARGIN_MS)
        : last.since
  const plan = {
    phase: 'tenants' as const,
    afterId: null,
    since,
    snapshotAt,
    startedAt: new Date()
  }
  return { plan, resumed: false }
}

/**
 * Leaves behind the rows of a grant opas does not hold: one this run skipped, or (in a resumed
 * run) one the stopped run skipped or Rafiki created after that run read past it.
 */
async function ofGrantsInOpas(
  tx: Queryable,
  table: RafikiTable,
  rows: Mapped<object>[],
  written: ReadonlySet<string>,
  skippedGrants: ReadonlySet<string>
): Promise<Mapped<object>[]> {
  const grantOf = (m: Mapped<object>) =>
    'row' in m ? (m.row as { grant_id: string }).grant_id : undefined
  const ids = [...new Set(rows.flatMap((m) => grantOf(m) ?? []))].filter((id) => !written.has(id))
  const { rows: held } =
    ids.length === 0
      ? { rows: [] }
      : await tx.query<{ id: string }>('select id from grants where id = any($1::uuid[])', [ids])
  const inOpas = new Set(held.map((g) => g.id))
  return rows.map((m) => {
    const grant = grantOf(m)
    if (grant === undefined || written.has(grant) || inOpas.has(grant)) return m
    const id = (m as { row: { id: string } }).row.id
    const reason = skippedGrants.has(grant)
      ? `its grant ${grant} was skipped`
      : `its grant ${grant} is not in opas: skipped by an earlier run, or created in Rafiki ` +
        'after the stopped run read past it (the next run brings it, unless it is skipped)'
    return { skipped: { table, id, reason } }
  })
}

/** Each grant's rows in the order Rafiki created them, numbered from 0 within the grant. */
function positioned<T extends { grantId: string }, R>(
  rows: T[],
  map: (row: T, position: number) => Mapped<R>
): Mapped<R>[] {
  const next = new Map<string, number>()
  return rows.map((row) => {
    const position = next.get(row.grantId) ?? 0
    next.set(row.grantId, position + 1)
    return map(row, position)
  })
}

/**
 * A table of Rafiki's, from its cursor, a batch at a time, with progress after each. The next
 * batch is fetched while this one is written: the source and opas's database work at once.
 */
async function eachBatch<T>(
  src: Queryable,
  table: RafikiTable,
  from: ReadFrom,
  batchSize: number,
  fn: (rows: T[]) => Promise<void>,
  onProgress: ImportOptions['onProgress']
): Promise<void> {
  // A count costs a pass over the table: only for someone watching the progress.
  const total = onProgress ? await countFrom(src, table, from) : 0
  const cursor = await SourceCursor.open<T>(src, table, 'id', 'id', from)
  const fetchNext = () => {
    const next = cursor.next(batchSize)
    // Awaited below; this only keeps a failure while `fn` runs from counting as unhandled.
    next.catch(() => undefined)
    return next
  }
  let next = fetchNext()
  for (let done = 0; ;) {
    const rows = await next
    if (rows.length === 0) return
    const more = rows.length === batchSize
    if (more) next = fetchNext()
    await fn(rows)
    done += rows.length
    onProgress?.(table, done, total)
    if (!more) return
  }
}
