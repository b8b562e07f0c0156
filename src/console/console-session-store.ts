import type { Queryable } from '../storage/db.js'

/** A live console session as stored: whose it is and what it was opened with. */
export interface ConsoleSessionRow {
  tenantId: string
  secretCheck: Uint8Array
  createdAt: Date
  expiresAt: Date
}

/** Opens a session; expired sessions are deleted on the way (sign-ins are rare). */
export async function insertConsoleSession(
  q: Queryable,
  session: { idHash: Uint8Array; tenantId: string; secretCheck: Uint8Array; ttlSeconds: number }
): Promise<void> {
  await q.query(
    `with purged as (delete from console_sessions where expires_at < now())
     insert into console_sessions (id_hash, tenant_id, secret_check, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [session.idHash, session.tenantId, session.secretCheck, session.ttlSeconds]
  )
}

/**
 * A live session, its idle expiry pushed `ttlSeconds` on (never past `maxSeconds` after it was
 * opened), in one statement; undefined when it does not exist or has expired (by the database
 * clock, as every other expiry).
 */
export async function touchConsoleSession(
  q: Queryable,
  idHash: Uint8Array,
  ttlSeconds: number,
  maxSeconds: number
): Promise<ConsoleSessionRow | undefined> {
  const { rows } = await q.query<ConsoleSessionRow>(
    `update console_sessions
     set expires_at = least(now() + make_interval(secs => $2), created_at + make_interval(secs => $3))
     where id_hash = $1 and expires_at > now()
     returning tenant_id as "tenantId", secret_check as "secretCheck",
       created_at as "createdAt", expires_at as "expiresAt"`,
    [idHash, ttlSeconds, maxSeconds]
  )
  return rows[0]
}

/** Ends a session (sign-out, or found no longer valid). */
/** Ends a session; false when there was none (signed out already, or expired and swept). */
export async function deleteConsoleSession(q: Queryable, idHash: Uint8Array): Promise<boolean> {
  const { rowCount } = await q.query('delete from console_sessions where id_hash = $1', [idHash])
  return rowCount > 0
}
