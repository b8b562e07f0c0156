import pg from 'pg'
import type { Db, Queryable, QueryResult } from './db.js'

// node-postgres parses int8 to string and timestamps to Date by default; we never select int8.
// Named statements let PostgreSQL reuse the plan per connection: every SQL text is static, so
// the set of names stays small and bounded.
const statementNames = new Map<string, string>()
function statementName(sql: string): string {
  let name = statementNames.get(sql)
  if (name === undefined) {
    name = `opas_${statementNames.size}`
    statementNames.set(sql, name)
  }
  return name
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await client.query({
        name: params.length > 0 ? statementName(sql) : undefined,
        text: sql,
        values: params as unknown[]
      })
      return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 }
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql)
    }
  }
}

/** A server reached by its socket folder (`host`) and port: the embedded one. */
export interface ServerConnection {
  host: string
  port: number
  user: string
  /** The embedded server's superuser password (SCRAM). */
  password: string
  database: string
}

/**
 * A pooled PostgreSQL database: a URL (an external server), or the embedded one's socket.
 * `onClose` runs once the pool has ended, even if ending it failed (the embedded server stops
 * then, and its data directory is freed).
 */
export function createPostgresDb(
  connection: string | ServerConnection,
  poolSize: number,
  options: { kind?: Db['kind']; onClose?: () => Promise<void> } = {}
): Db {
  const { kind = 'postgres', onClose } = options
  const pool = new pg.Pool({
    ...(typeof connection === 'string' ? { connectionString: connection } : connection),
    max: poolSize,
    idleTimeoutMillis: 30_000
  })
  // An idle client erroring (the server restarted) must not crash the process; the pool drops it.
  pool.on('error', () => {})
  // Nor one checked out between two statements of a transaction, which has no listener of the
  // pool's then: its next statement fails instead, and it is destroyed on release.
  pool.on('connect', (client) => client.on('error', () => {}))
  const root = wrap(pool)
  let closed: Promise<void> | undefined
  return {
    kind,
    query: root.query,
    exec: root.exec,
    async transaction(fn) {
      const client = await pool.connect()
      let broken = false
      try {
        await client.query('BEGIN')
        const result = await fn(wrap(client))
        await client.query('COMMIT')
        return result
      } catch (err) {
        // A connection that cannot even roll back is broken: destroyed, not pooled again.
        broken = await client.query('ROLLBACK').then(
          () => false,
          () => true
        )
        throw err
      } finally {
        client.release(broken)
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    // Idempotent: shutdown paths may race to close.
    close: () => (closed ??= pool.end().finally(() => onClose?.()))
  }
}
