/**
 * Errors that say the database cannot be reached right now (stopped, restarting, crashed, out of
 * connections), not that a statement was wrong: the request may succeed if repeated, so it is
 * answered 503 rather than 500.
 */

/** The operating system's on a connection: no server on the socket or port, or cut off. */
const unreachable = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
const connectionCalls = new Set(['connect', 'read', 'write'])

/**
 * PostgreSQL's SQLSTATEs (Appendix A): class 08 (connection exception), 53300
 * (too_many_connections), 57P01-57P03 (admin_shutdown, crash_shutdown, cannot_connect_now).
 */
const unavailableState = /^(08...|53300|57P0[123])$/

/** node-postgres's own, for a connection that ended under a query (it sets no code). */
const cutOff = /^Connection terminated|connection error and is not queryable/

export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message, syscall } = err as { code?: unknown; message?: unknown; syscall?: unknown }
  if (typeof code === 'string' && unavailableState.test(code)) return true
  if (typeof code === 'string' && unreachable.has(code)) {
    return typeof syscall === 'string' && connectionCalls.has(syscall)
  }
  return typeof message === 'string' && cutOff.test(message)
}
