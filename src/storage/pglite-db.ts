import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { lockDataDir, type LockOwner } from './data-dir-lock.js'
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

/** Where PGlite keeps its files under DATA_DIR. */
const pgliteDir = (dataDir: string) => join(dataDir, 'pglite')

/** True when DATA_DIR holds an embedded database already (a first start creates it). */
export const pgliteExists = (dataDir: string): boolean =>
  dataDir === 'memory://' || existsSync(join(pgliteDir(dataDir), 'PG_VERSION'))

export interface PgliteOptions {
  /** What the process opening it does (`opas start`), recorded in the directory's lock. */
  command?: string
  /** Told when the directory's lock was left by a process that is gone, and taken over. */
  onStaleLock?: (owner: LockOwner | null) => void
  /** Told before a database is created in an empty directory (it takes a few seconds). */
  onCreate?: (path: string) => void
}

/**
 * Embedded PostgreSQL (PGlite, WASM) for a zero-setup start. One connection: PGlite runs
 * statements one at a time and serialises transactions, so row locks never contend.
 * `dataDir` 'memory://' keeps everything in memory (tests). A directory has one owner at a time
 * ({@link lockDataDir}): a second process is refused, naming the first.
 */
export async function createPgliteDb(dataDir: string, options: PgliteOptions = {}): Promise<Db> {
  const inMemory = dataDir === 'memory://'
  const lock = inMemory ? undefined : await lockDataDir(dataDir, options.command ?? 'opas')
  if (lock?.replaced !== undefined) options.onStaleLock?.(lock.replaced)
  let pglite: PGlite
  try {
    const path = inMemory ? undefined : pgliteDir(dataDir)
    if (path !== undefined && !pgliteExists(dataDir)) options.onCreate?.(path)
    pglite = await PGlite.create(path)
  } catch (err) {
    lock?.release()
    throw err
  }
  const root = wrap(pglite)
  let closed: Promise<void> | undefined
  return {
    kind: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    // Idempotent: shutdown paths may race to close.
    close: () => (closed ??= pglite.close().finally(() => lock?.release()))
  }
}
