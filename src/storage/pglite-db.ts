import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import type { Db, Queryable, QueryResult } from './db.js'

function wrap(target: Pick<PGlite, 'query' | 'exec'>): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, params as unknown[])
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) }
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql)
    }
  }
}

/**
 * Embedded PostgreSQL (PGlite, WASM) for a zero-setup start. One connection: PGlite runs
 * statements one at a time and serialises transactions, so row locks never contend.
 * `dataDir` 'memory://' keeps everything in memory (tests).
 */
export async function createPgliteDb(dataDir: string): Promise<Db> {
  const inMemory = dataDir === 'memory://'
  if (!inMemory) mkdirSync(dataDir, { recursive: true })
  const pglite = await PGlite.create(inMemory ? undefined : `${dataDir}/pglite`)
  const root = wrap(pglite)
  let closed: Promise<void> | undefined
  return {
    kind: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    // Idempotent: shutdown paths may race to close.
    close: () => (closed ??= pglite.close())
  }
}
