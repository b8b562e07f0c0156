import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import type { Db, Queryable, QueryResult } from '../db.js'
import { migrate } from '../migrate.js'

/**
 * Before the embedded PostgreSQL server, opas kept its embedded data in PGlite (PostgreSQL
 * compiled to WebAssembly) under DATA_DIR/pglite. A data directory from that version is copied
 * once into the embedded server, in one transaction, and the PGlite folder is then renamed
 * aside (kept until the operator deletes it), so no grant is silently left behind.
 */

/** Where the earlier versions kept their PGlite files under DATA_DIR. */
export const pgliteDir = (dataDir: string): string => join(dataDir, 'pglite')

/** Rows fetched from PGlite per round: bounds the memory a large table takes to copy. */
const BATCH = 2_000

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>
  exec(sql: string): Promise<unknown>
  transaction<T>(fn: (tx: PgliteLike) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** PGlite behind the project's database interface, so the migrations run on it unchanged. */
function asDb(pglite: PgliteLike): Db {
  const wrap = (target: Pick<PgliteLike, 'query' | 'exec'>): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, params as unknown[])
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) }
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql)
    }
  })
  const db: Db = {
    kind: 'embedded',
    ...wrap(pglite),
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    // PGlite is one connection: the same, but closing it closes nothing.
    separate: () => ({ ...db, close: async () => {} }),
    close: () => pglite.close()
  }
  return db
}

/**
 * Copies DATA_DIR/pglite into `target` when it is there; does nothing otherwise. Both are first
 * brought to this build's schema, then each table is emptied and refilled in one transaction
 * (a copy killed halfway leaves nothing, and the next start copies again). Answers the rows
 * copied per table.
 */
export async function importPglite(
  dataDir: string,
  target: Db,
  log: { info(fields: object, message: string): void }
): Promise<Record<string, number> | undefined> {
  const from = pgliteDir(dataDir)
  if (!existsSync(join(from, 'PG_VERSION'))) return undefined
  log.info(
    { from },
    'found a PGlite database from an earlier opas: copying it into the embedded PostgreSQL (once)'
  )
  // Loaded only here: PGlite is large, and only this one-time copy needs it.
  const { PGlite } = await import('@electric-sql/pglite')
  const source = asDb((await PGlite.create(from)) as unknown as PgliteLike)
  const copied: Record<string, number> = {}
  try {
    await migrate(source)
    await migrate(target)
    const { rows: tables } = await source.query<{ name: string }>(
      `select tablename as name from pg_tables
       where schemaname = 'public' and tablename <> 'opas_migrations' order by tablename`
    )
    const list = tables.map((t) => `"${t.name}"`).join(', ')
    await target.transaction(async (tx) => {
      if (list) await tx.exec(`truncate ${list} cascade`)
      // Foreign keys are enforced by triggers: the copy, as the server's owner, turns them off
      // for this transaction to fill the tables in any order (the source satisfied them).
      await tx.exec('set local session_replication_role = replica')
      for (const { name } of tables) {
        copied[name] = await copyTable(source, tx, name)
      }
    })
  } finally {
    await source.close()
  }
  const aside = `${from}.imported-${new Date().toISOString().slice(0, 10)}`
  renameSync(from, aside)
  log.info(
    { rows: copied, keptAt: aside },
    `PGlite database copied into the embedded PostgreSQL; the PGlite files are kept in ${aside}: delete them once you no longer need them`
  )
  return copied
}

/** One table through JSON, in batches: every column type the schema uses survives the trip. */
async function copyTable(source: Db, target: Queryable, table: string): Promise<number> {
  let total = 0
  await source.transaction(async (tx) => {
    await tx.exec(
      `declare rows_out no scroll cursor for select row_to_json(t)::text as row from "${table}" t`
    )
    for (;;) {
      const { rows } = await tx.query<{ row: string }>(`fetch ${BATCH} from rows_out`)
      if (rows.length === 0) break
      await target.query(
        `insert into "${table}" select * from json_populate_recordset(null::"${table}", $1::json)`,
        [`[${rows.map((r) => r.row).join(',')}]`]
      )
      total += rows.length
    }
  })
  return total
}
