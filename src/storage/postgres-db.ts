import pg from 'pg'
import type { Db, Queryable, QueryResult } from './db.js'

// node-postgres parses int8 to string and timestamps to Date by default; we never select int8.
// Named statements let PostgreSQL reuse the plan per connection: every SQL text is static, so
// the set of names stays small and bounded. node-postgres prepares a name once per connection
// and then only refers to it, which a transaction-mode pooler breaks (the next transaction may
// run on a server connection that lacks the name, or on one where another client already
// prepared it): DATABASE_PREPARED_STATEMENTS=false sends every statement unnamed instead, which
// lives only until the next one on that connection, inside the transaction pooled with it.
const statementNames = new Map<string, string>()
function statementName(sql: string): string {
  let name = statementNames.get(sql)
  if (name === undefined) {
    name = `opas_${statementNames.size}`
    statementNames.set(sql, name)
  }
  return name
}

function wrap(client: pg.Pool | pg.PoolClient, prepared: boolean): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await client.query({
        name: prepared && params.length > 0 ? statementName(sql) : undefined,
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
 * then, and its data directory is freed). `preparedStatements` (default true) names each
 * parameterised statement so that a connection plans it once; false behind a transaction-mode
 * pooler.
 *
 * Nothing here or in the stores keeps state on a connection beyond one transaction, so a
 * transaction-mode pooler (PgBouncer) serves opas once statements are unnamed: the pool sets no
 * startup parameter but user and database (no `options`, `statement_timeout` or
 * `application_name` unless the URL names them, which PgBouncer would refuse without
 * `ignore_startup_parameters`); no `SET` but `SET LOCAL`/`SET TRANSACTION` inside a transaction
 * (pglite-import, rafiki-import); only transaction-scoped advisory locks
 * (`pg_advisory_xact_lock`: migrate, generated-settings; `pg_try_advisory_xact_lock`:
 * rafiki-import); cursors only inside the transaction that declares them (rafiki-reader,
 * pglite-import); no LISTEN/NOTIFY, temporary table or session-level lock.
 */
export function createPostgresDb(
  connection: string | ServerConnection,
  poolSize: number,
  options: { kind?: Db['kind']; onClose?: () => Promise<void>; preparedStatements?: boolean } = {}
): Db {
  const { kind = 'postgres', onClose, preparedStatements = true } = options
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
  const root = wrap(pool, preparedStatements)
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
        const result = await fn(wrap(client, preparedStatements))
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
    separate: (size) => createPostgresDb(connection, size, { kind, preparedStatements }),
    // Idempotent: shutdown paths may race to close.
    close: () => (closed ??= pool.end().finally(() => onClose?.()))
  }
}
