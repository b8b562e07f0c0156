import { LRUCache } from 'lru-cache'
import type { Queryable } from '../storage/db.js'
import type { StatementParams } from '../storage/statement-params.js'

/**
 * Replay protection for HTTP message signatures (RFC 9421 §7.2.2): a signature verified once is
 * refused for as long as its `created` stays within the freshness window. Ed25519 signatures are
 * deterministic, so an identical signed request carries identical signature bytes, and any other
 * request carries different ones.
 */
export interface ReplayGuard {
  /**
   * Records `signature` until `expiresAt` (unix seconds). False when it is already recorded and
   * not yet expired: the request is a replay.
   */
  claim(signature: Uint8Array, expiresAt: number): Promise<boolean>
  /**
   * True when a claim can instead ride along the statement that acts on the request
   * ({@link replayCte}), which saves a database round trip on the hot paths.
   */
  readonly foldsIntoStatements: boolean
}

/**
 * How one verified request is kept from being replayed, decided once by the signature verifier
 * (http/client-verifier) and consumed by what acts on the request:
 * - `none`: the request may repeat (a grant request signed without a nonce, under
 *   SIGNATURE_REPLAY=standard);
 * - `claimed`: its signature is recorded already;
 * - `record`: the statement that acts on the request records the signature (until `expiresAt`,
 *   unix seconds) and acts only if it was not there yet ({@link replayCte}): one round trip.
 */
export type Replay =
  | { kind: 'none' }
  | { kind: 'claimed' }
  | { kind: 'record'; signature: Uint8Array; expiresAt: number }

/**
 * A service's answer to a request found to be a replay by the statement that would have acted
 * on it; the HTTP edge answers it as the signature's refusal (401 `invalid_client`).
 */
export const replayed = Object.freeze({ replayed: true as const })
export type Replayed = typeof replayed

/**
 * A CTE named `replay` recording the signature in parameter `signature` until the unix time in
 * parameter `expiresAt`: one row when claimed, none when the signature is already recorded and
 * live. `on conflict ... where` turns an expired record, not yet deleted by the retention job,
 * into a fresh claim.
 */
function replayCte(signature: string, expiresAt: string): string {
  return `replay as (
    insert into signature_replays (signature, expires_at)
    values (${signature}::bytea, to_timestamp(${expiresAt}))
    on conflict (signature) do update set expires_at = excluded.expires_at
      where signature_replays.expires_at <= now()
    returning true)`
}

/**
 * For a statement built with StatementParams: the replay CTE, only when `replay` records a
 * signature (an empty CTE would still cost the statement its set-up), and the condition under
 * which the statement acts: the claim held (always, when it records nothing).
 */
export function replayFragment(
  replay: Replay,
  params: StatementParams
): { ctes: string[]; claimed: string } {
  if (replay.kind !== 'record') return { ctes: [], claimed: 'true' }
  const signature = params.add(replay.signature)
  return {
    ctes: [replayCte(signature, params.add(replay.expiresAt))],
    claimed: 'exists (select 1 from replay)'
  }
}

const DELETE_EXPIRED = `delete from signature_replays where signature in (
  select signature from signature_replays where expires_at < now()
  limit $1 for update skip locked)`

/** Deletes up to `limit` expired records (retention/retention-job.ts). */
export async function deleteExpiredReplays(q: Queryable, limit: number): Promise<number> {
  return (await q.query(DELETE_EXPIRED, [limit])).rowCount
}

const CLAIM = `with ${replayCte('$1', '$2')} select 1 from replay`

/** PostgreSQL: an unlogged table, shared by every process on the database. */
export function createDatabaseReplayGuard(db: Queryable): ReplayGuard {
  return {
    foldsIntoStatements: true,
    async claim(signature, expiresAt) {
      const { rowCount } = await db.query(CLAIM, [signature, expiresAt])
      return rowCount === 1
    }
  }
}

/**
 * The embedded database: one process owns it, so the record can live in memory, and recording costs
 * no query. Bounded: past `maxEntries` the least recently recorded signatures are forgotten early
 * (at the default, a million signatures inside one window; per-client rate limits keep a single
 * client far below that).
 */
export function createMemoryReplayGuard(options: {
  now: () => number
  maxEntries?: number
}): ReplayGuard {
  const seen = new LRUCache<string, true>({
    max: options.maxEntries ?? 1_000_000,
    ttlAutopurge: false,
    // Read the clock on every check: the default caches it for a millisecond.
    ttlResolution: 0,
    perf: { now: options.now }
  })
  return {
    foldsIntoStatements: false,
    async claim(signature, expiresAt) {
      const key = Buffer.from(signature).toString('base64')
      if (seen.has(key)) return false
      const ttl = expiresAt * 1000 - options.now()
      if (ttl > 0) seen.set(key, true, { ttl })
      return true
    }
  }
}
