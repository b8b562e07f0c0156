import type { Queryable } from '../storage/db.js'

/** Rows deleted by one pass of each retention rule. */
export interface RetentionCounts {
  tokens: number
  finishedGrants: number
  abandonedGrants: number
  replays: number
}

export interface RetentionPolicy {
  /** Expired or revoked tokens, and finished grants with no token left, go after this long. */
  tokenDeletionSeconds: number
  /** Grants never finished (interaction abandoned) go this long after they were created. */
  pendingGrantDeletionSeconds: number
}

// Each rule deletes at most $1 rows per statement, picked through an index on created_at (or
// expires_at), and skips rows another transaction holds: a request in flight is never waited
// for, and two opas processes cleaning at once do not queue behind each other.

// A token is kept for the retention period after it expired or was revoked (revoked_at and the
// expiry are both >= created_at, so the created_at range narrows the scan first).
const DELETE_TOKENS = `delete from access_tokens where id in (
  select id from access_tokens
  where created_at < now() - make_interval(secs => $2)
    and (revoked_at < now() - make_interval(secs => $2)
         or created_at + make_interval(secs => expires_in) < now() - make_interval(secs => $2))
  limit $1 for update skip locked)`

// A finished grant (issued, revoked or rejected) whose tokens are all gone has nothing left to
// manage: its continuation is refused and no token points at it.
const DELETE_FINISHED_GRANTS = `delete from grants where id in (
  select g.id from grants g
  where g.created_at < now() - make_interval(secs => $2)
    and g.state = 'FINALIZED'
    and g.updated_at < now() - make_interval(secs => $2)
    and not exists (select 1 from access_tokens t where t.grant_id = g.id)
  limit $1 for update skip locked)`

// A grant still pending (or approved but never continued) this long after its creation was
// abandoned; its accesses, subjects and interaction go with it (on delete cascade).
const DELETE_ABANDONED_GRANTS = `delete from grants where id in (
  select id from grants
  where created_at < now() - make_interval(secs => $2)
    and state <> 'FINALIZED'
  limit $1 for update skip locked)`

const DELETE_REPLAYS = `delete from signature_replays where signature in (
  select signature from signature_replays where expires_at < now()
  limit $1 for update skip locked)`

export async function deleteExpiredTokens(q: Queryable, limit: number, olderThanS: number) {
  return (await q.query(DELETE_TOKENS, [limit, olderThanS])).rowCount
}

export async function deleteFinishedGrants(q: Queryable, limit: number, olderThanS: number) {
  return (await q.query(DELETE_FINISHED_GRANTS, [limit, olderThanS])).rowCount
}

export async function deleteAbandonedGrants(q: Queryable, limit: number, olderThanS: number) {
  return (await q.query(DELETE_ABANDONED_GRANTS, [limit, olderThanS])).rowCount
}

export async function deleteExpiredReplays(q: Queryable, limit: number) {
  return (await q.query(DELETE_REPLAYS, [limit])).rowCount
}
