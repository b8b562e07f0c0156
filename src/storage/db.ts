/**
 * The database boundary: plain SQL through two methods, on PostgreSQL (node-postgres): an
 * external server, or the embedded one opas runs in DATA_DIR. Stores take a `Queryable` (the Db or an open transaction) as their first argument and
 * never open transactions themselves; services own the transaction (architecture rule 5).
 */
export interface QueryResult<T> {
  rows: T[]
  rowCount: number
}

export interface Queryable {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[]
  ): Promise<QueryResult<T>>
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>
}

export interface Db extends Queryable {
  /** `embedded`: the private server in DATA_DIR, which one opas process owns at a time. */
  readonly kind: 'postgres' | 'embedded'
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /** Open and idle connections, for health and metrics. */
  poolStats(): { total: number; idle: number; waiting: number }
  /**
   * A pool of its own (at most `poolSize` connections, opened when first used) on the same
   * database, for work that holds a connection long: off the requests' pool, so that it never
   * waits behind it. Closing it leaves this one (and an embedded server) open.
   */
  separate(poolSize: number): Db
  close(): Promise<void>
}
