import type { Jwk } from '../gnap/request-schemas.js'
import { accessJsonSql, type AccessRow } from '../access/access-store.js'
import { replayFragment, type Replay } from '../replay/replay-guard.js'
import type { Queryable } from '../storage/db.js'
import { StatementParams } from '../storage/statement-params.js'
import {
  addEventParams,
  eventParams,
  insertEventSql,
  type EventOfChange
} from '../audit/event-store.js'

export interface NewToken {
  valueHash: Buffer
  managementId: string
  expiresIn: number
}

/**
 * An `insert into access_tokens` for a CTE: one token (hash, management id and lifetime in the
 * parameters named) for the grant the CTE `grant` returns.
 */
export function insertTokenSql(
  grant: string,
  valueHash: string,
  managementId: string,
  expiresIn: string
): string {
  return `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in)
  select opas_uuid_v7(), ${grant}.id, ${valueHash}::bytea, ${managementId}::uuid, ${expiresIn}::integer
  from ${grant}`
}

export async function insertToken(q: Queryable, grantId: string, token: NewToken): Promise<void> {
  await q.query(
    `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in)
     values (opas_uuid_v7(), $1, $2, $3, $4)`,
    [grantId, token.valueHash, token.managementId, token.expiresIn]
  )
}

/** What token management needs to authenticate a request: the token and its grant's client. */
export interface ManagedTokenRow {
  valueHash: Uint8Array
  grantId: string
  tenantId: string
  client: string | null
  jwk: Jwk | null
}

/** An unrevoked token by its management id (expired tokens may still be rotated or revoked). */
export async function findManagedToken(
  q: Queryable,
  managementId: string
): Promise<ManagedTokenRow | undefined> {
  const { rows } = await q.query<ManagedTokenRow>(
    `select t.value_hash as "valueHash", t.grant_id as "grantId", g.tenant_id as "tenantId",
       g.client, g.jwk
     from access_tokens t join grants g on g.id = t.grant_id
     where t.management_id = $1 and t.revoked_at is null`,
    [managementId]
  )
  return rows[0]
}

/**
 * Rotation in one statement (RFC 9635 §6.1): the old token is revoked only if it is still live
 * and presented with its value, and the new one is inserted from the same row. Concurrent
 * rotations of one token serialise on its row lock; the losers find it revoked and get nothing.
 * The grant row is share-locked first and must not be revoked, so a racing cancel either waits
 * for the new token (and revokes it) or wins and leaves nothing to rotate.
 * The new token records the old one's id (`rotated_from`), so operators see the chain.
 * Returns the grant's access items, or undefined when the old token was no longer live.
 */
export async function rotateToken(
  q: Queryable,
  old: { managementId: string; valueHash: Uint8Array; tenantId: string },
  next: NewToken,
  replay: Replay,
  event: EventOfChange
): Promise<{ claimed: boolean; access: AccessRow[] | undefined; label: string | null }> {
  // The request's replay record, when it keeps one, is written by the same statement, which
  // rotates only when it was not there yet (RFC 9421 §7.2.2); with nothing to record, the
  // statement has no replay CTE (statement-params.ts). So is its audit event
  // (`token.rotated`), only when it rotated.
  const p = new StatementParams()
  const guard = replayFragment(replay, p)
  const managementId = p.add(old.managementId)
  const ctes = [
    ...guard.ctes,
    `live_grant as (
       select g.id, g.access_token_label from access_tokens t join grants g on g.id = t.grant_id
       where t.management_id = ${managementId} and g.finalization_reason is distinct from 'REVOKED'
       for share of g
     )`,
    `old as (
       update access_tokens set revoked_at = now()
       where management_id = ${managementId} and value_hash = ${p.add(old.valueHash)}
         and revoked_at is null and grant_id in (select id from live_grant) and ${guard.claimed}
       returning id, grant_id
     )`,
    `new as (
       insert into access_tokens (id, grant_id, value_hash, management_id, expires_in, rotated_from)
       select opas_uuid_v7(), grant_id, ${p.add(next.valueHash)}, ${p.add(next.managementId)},
         ${p.add(next.expiresIn)}, id from old
       returning grant_id
     )`,
    `e as (${insertEventSql('new', addEventParams(p, event), {
      tenant: `${p.add(old.tenantId)}::uuid`,
      grant: 'new.grant_id'
    })})`
  ]
  const { rows } = await q.query<{
    claimed: boolean
    rotated: boolean
    access: AccessRow[] | null
    label: string | null
  }>(
    `with ${ctes.join(', ')}
     select ${guard.claimed} as claimed, exists (select 1 from new) as rotated,
       (select ${accessJsonSql('new.grant_id')} from new) as access,
       (select access_token_label from live_grant) as label`,
    p.values
  )
  const row = rows[0]!
  return {
    claimed: row.claimed,
    access: row.rotated ? (row.access ?? []) : undefined,
    label: row.label
  }
}

/**
 * Revokes a live token presented with its value (RFC 9635 §6.2), with its audit event
 * (`token.revoked`) in the same statement; a token revoked before writes none.
 */
export async function revokeToken(
  q: Queryable,
  token: { managementId: string; valueHash: Uint8Array; tenantId: string },
  event: EventOfChange
): Promise<boolean> {
  const { rows } = await q.query<{ n: number }>(
    `with t as (
       update access_tokens set revoked_at = now()
       where management_id = $1 and value_hash = $2 and revoked_at is null
       returning grant_id
     ), e as (${insertEventSql('t', 4, { tenant: '$3::uuid', grant: 't.grant_id' })})
     select count(*)::int as n from t`,
    [token.managementId, token.valueHash, token.tenantId, ...eventParams(event)]
  )
  return rows[0]!.n === 1
}

/**
 * A live token of alias `t`: neither revoked nor expired, by the database clock. (Its grant's
 * revocation revokes it, so the grant's operators see the same answer as introspection.)
 */
export const liveTokenSql = (t: string) =>
  `${t}.revoked_at is null and ${t}.created_at + make_interval(secs => ${t}.expires_in) >= now()`

/** An active token for introspection: unrevoked, unexpired, grant not revoked, tenant live. */
export interface ActiveToken {
  grantId: string
  tenantId: string
  client: string | null
  jwk: Jwk | null
  access: AccessRow[]
  /** The grant endpoint the grant was requested at (RFC 9767 §3.3 `iss`). */
  grantUri: string
  /** The key that signed a wallet-address client's grant request (none for grants older than
   * migration 015); a directed-identity client's is `jwk`. */
  clientKey: Jwk | null
  /** When it was issued, in seconds since the epoch (fractional), and its lifetime. */
  createdAt: number
  expiresIn: number
}

export async function findActiveToken(
  q: Queryable,
  valueHash: Uint8Array
): Promise<ActiveToken | undefined> {
  const { rows } = await q.query<ActiveToken & { access: AccessRow[] | null }>(
    `select g.id as "grantId", g.tenant_id as "tenantId", g.client, g.jwk,
       ${accessJsonSql('g.id')} as access, g.grant_uri as "grantUri",
       g.client_key as "clientKey",
       extract(epoch from t.created_at)::float8 as "createdAt", t.expires_in as "expiresIn"
     from access_tokens t
     join grants g on g.id = t.grant_id
     join tenants n on n.id = g.tenant_id
     where t.value_hash = $1 and ${liveTokenSql('t')}
       and g.finalization_reason is distinct from 'REVOKED'
       and n.deleted_at is null`,
    [valueHash]
  )
  const row = rows[0]
  return row === undefined ? undefined : { ...row, access: row.access ?? [] }
}

/**
 * An `update access_tokens` for a CTE: revokes every live token of the grants the CTE `grant`
 * returns (a grant's revocation, RFC 9635 §5.4, takes its tokens with it).
 */
export function revokeGrantTokensSql(grant: string): string {
  return `update access_tokens set revoked_at = now()
  where grant_id in (select id from ${grant}) and revoked_at is null`
}

// A token is kept for the retention period after it expired or was revoked (revoked_at and the
// expiry are both >= created_at, so the created_at range narrows the scan first). At most $1
// rows, skipping rows another transaction holds (see retention/retention-job.ts).
const DELETE_SPENT_TOKENS = `delete from access_tokens where id in (
  select id from access_tokens
  where created_at < now() - make_interval(secs => $2)
    and (revoked_at < now() - make_interval(secs => $2)
         or created_at + make_interval(secs => expires_in) < now() - make_interval(secs => $2))
  limit $1 for update skip locked)`

/** Deletes up to `limit` tokens expired or revoked more than `olderThanS` seconds ago. */
export async function deleteSpentTokens(
  q: Queryable,
  limit: number,
  olderThanS: number
): Promise<number> {
  return (await q.query(DELETE_SPENT_TOKENS, [limit, olderThanS])).rowCount
}
