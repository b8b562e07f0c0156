import { accessJsonSql, insertAccessesSql, type AccessRow } from '../access/access-store.js'
import type { AccessItem } from '../gnap/access.js'
import type { Jwk } from '../gnap/request-schemas.js'
import type { PublicJwk } from '../client-keys/index.js'
import { replayFragment, type Replay } from '../replay/replay-guard.js'
import type { Queryable } from '../storage/db.js'
import { StatementParams } from '../storage/statement-params.js'
import { insertTokenSql, revokeGrantTokensSql } from '../token/token-store.js'
import {
  addEventParams,
  eventParams,
  insertEventSql,
  type EventOfChange
} from '../audit/event-store.js'
import { insertInteractionSql } from '../interaction/interaction-store.js'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'

/** A grant as stored (continuation token only as its hash). */
export interface GrantRow {
  id: string
  tenantId: string
  state: GrantState
  finalizationReason: FinalizationReason | null
  continueId: string
  continueTokenHash: Uint8Array
  finishMethod: string | null
  finishUri: string | null
  clientNonce: string | null
  grantUri: string
  client: string | null
  clientName: string | null
  jwk: Jwk | null
  /** The client's label for the grant's access token (RFC 9635 §2.1.1), echoed with each. */
  accessTokenLabel: string | null
  lastContinuedAt: Date
  createdAt: Date
  /** The database clock at read time: `wait` is judged on the clock that stamped lastContinuedAt. */
  dbNow: Date
}

const GRANT_COLUMNS = `g.id, g.tenant_id as "tenantId", g.state, g.finalization_reason as "finalizationReason",
  g.continue_id as "continueId", g.continue_token_hash as "continueTokenHash",
  g.finish_method as "finishMethod", g.finish_uri as "finishUri", g.client_nonce as "clientNonce",
  g.grant_uri as "grantUri", g.client, g.client_name as "clientName", g.jwk,
  g.access_token_label as "accessTokenLabel",
  g.last_continued_at as "lastContinuedAt", g.created_at as "createdAt", now() as "dbNow"`

export interface NewGrant {
  id: string
  tenantId: string
  state: GrantState
  finalizationReason: FinalizationReason | null
  startMethod: string[] | null
  continueId: string
  continueTokenHash: Buffer
  finishMethod: string | null
  finishUri: string | null
  clientNonce: string | null
  grantUri: string
  client: string | null
  clientName: string | null
  jwk: Jwk | null
  /** The key that signed a wallet-address client's request (RFC 9767 §3.3 `key`). */
  clientKey: PublicJwk | null
  accessTokenLabel: string | null
  access: AccessItem[]
  subIds: { id: string; format: string }[]
  /** Issued with the grant (non-interactive grants). */
  token: { valueHash: Buffer; managementId: string; expiresIn: number } | null
  /** Started with the grant (interactive grants). */
  interaction: { id: string; ref: string; nonce: string; expiresIn: number } | null
}

// One statement inserts the grant with its access rows, subjects and its token or interaction:
// atomic without an explicit transaction, and one round trip on the hot path (non-interactive
// grants). Foreign keys are checked at the end of the statement, so the CTEs may reference `g`.
// The rows of other domains are written by the fragments those domains export (access, token,
// interaction), so each table's SQL stays with its owner; a fragment the grant does not need
// (no subjects, a token or an interaction, nothing to record against replay) is left out, as
// each costs the statement its set-up even when it writes nothing (statement-params.ts).
// The request's replay record, when it keeps one, is written by the same statement, and nothing
// else is when it was already there (RFC 9421 §7.2.2), so a replayed grant request creates
// nothing. So is its audit event: `grant.requested`, or `grant.issued` for a grant issued at
// once; a replayed request writes none.
// At most eight texts, each prepared once per connection: with or without a replay record, with
// or without subjects, and a token or an interaction.
function insertGrantStatement(
  grant: NewGrant,
  replay: Replay,
  event: EventOfChange
): { sql: string; values: unknown[] } {
  const p = new StatementParams()
  const guard = replayFragment(replay, p)
  const tenant = p.add(grant.tenantId)
  const ctes = [
    ...guard.ctes,
    `g as (
  insert into grants (id, tenant_id, state, finalization_reason, start_method, continue_id,
    continue_token_hash, finish_method, finish_uri, client_nonce, grant_uri, client, client_name, jwk,
    client_key, access_token_label)
  select ${p.add(grant.id)}::uuid, ${tenant}::uuid, ${p.add(grant.state)}::text,
    ${p.add(grant.finalizationReason)}::text, ${p.add(grant.startMethod)}::text[],
    ${p.add(grant.continueId)}::uuid, ${p.add(grant.continueTokenHash)}::bytea,
    ${p.add(grant.finishMethod)}::text, ${p.add(grant.finishUri)}::text,
    ${p.add(grant.clientNonce)}::text, ${p.add(grant.grantUri)}::text, ${p.add(grant.client)}::text,
    ${p.add(grant.clientName)}::text,
    ${p.add(grant.jwk === null ? null : JSON.stringify(grant.jwk))}::jsonb,
    ${p.add(grant.clientKey === null ? null : JSON.stringify(grant.clientKey))}::jsonb,
    ${p.add(grant.accessTokenLabel)}::text
  where ${guard.claimed}
  returning id
)`,
    `a as (${insertAccessesSql('g', p.add(JSON.stringify(grant.access)))})`
  ]
  if (grant.subIds.length > 0) {
    ctes.push(`s as (
  insert into subjects (id, grant_id, position, sub_id, sub_id_format)
  select opas_uuid_v7(), g.id, x.pos, x.item->>'id', x.item->>'format'
  from g, jsonb_array_elements(${p.add(JSON.stringify(grant.subIds))}::jsonb) with ordinality as x(item, pos)
)`)
  }
  if (grant.token) {
    const { valueHash, managementId, expiresIn } = grant.token
    ctes.push(
      `t as (${insertTokenSql('g', p.add(valueHash), p.add(managementId), p.add(expiresIn))})`
    )
  }
  if (grant.interaction) {
    const { id, ref, nonce, expiresIn } = grant.interaction
    ctes.push(
      `i as (${insertInteractionSql('g', p.add(id), p.add(ref), p.add(nonce), p.add(expiresIn))})`
    )
  }
  ctes.push(
    `e as (${insertEventSql('g', addEventParams(p, event), { tenant: `${tenant}::uuid`, grant: 'g.id' })})`
  )
  return { sql: `with ${ctes.join(', ')}\nselect id from g`, values: p.values }
}

/** False when `replay` was already claimed: then nothing was written. */
export async function insertGrant(
  q: Queryable,
  grant: NewGrant,
  replay: Replay,
  /** Its audit event, written by the same statement (`grant.requested` or `grant.issued`). */
  event: EventOfChange
): Promise<boolean> {
  const statement = insertGrantStatement(grant, replay, event)
  const { rowCount } = await q.query(statement.sql, statement.values)
  return rowCount === 1
}

/** The grant behind a continuation URI, unless it was revoked (Rafiki §2.1 continue). */
export async function findGrantByContinueId(
  q: Queryable,
  continueId: string,
  options: { forUpdate: boolean }
): Promise<GrantRow | undefined> {
  const { rows } = await q.query<GrantRow>(
    `select ${GRANT_COLUMNS} from grants g
     where g.continue_id = $1 and g.finalization_reason is distinct from 'REVOKED'
     ${options.forUpdate ? 'for update' : ''}`,
    [continueId]
  )
  return rows[0]
}

/** Access items and subjects of a grant, in request order. */
export async function findGrantContents(
  q: Queryable,
  grantId: string
): Promise<{ access: AccessRow[]; subIds: { id: string; format: string }[] }> {
  const { rows } = await q.query<{
    access: AccessRow[] | null
    subIds: { id: string; format: string }[] | null
  }>(
    `select ${accessJsonSql('$1')} as access,
      (select json_agg(json_build_object('id', s.sub_id, 'format', s.sub_id_format) order by s.position)
       from subjects s where s.grant_id = $1) as "subIds"`,
    [grantId]
  )
  return { access: rows[0]?.access ?? [], subIds: rows[0]?.subIds ?? [] }
}

/** Moves a grant from one state to another; false when it was no longer in `from` (a race lost). */
export async function transitionGrant(
  q: Queryable,
  grantId: string,
  from: readonly GrantState[],
  to: { state: GrantState; finalizationReason: FinalizationReason | null }
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update grants set state = $2, finalization_reason = $3, updated_at = now()
     where id = $1 and state = any($4::text[])`,
    [grantId, to.state, to.finalizationReason, from]
  )
  return rowCount === 1
}

/**
 * A pending poll in one statement (RFC 9635 §5.2): records it when the grant is still pending,
 * has no finish method and was not polled within `wait`. False means the caller must decide the
 * answer the slow way (too fast, approved, finalised, not pollable).
 */
export async function recordPendingPoll(
  q: Queryable,
  continueId: string,
  waitSeconds: number
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update grants set last_continued_at = now(), updated_at = now()
     where continue_id = $1 and state in ('PENDING', 'PROCESSING') and finish_method is null
       and last_continued_at + make_interval(secs => $2) <= now()`,
    [continueId, waitSeconds]
  )
  return rowCount === 1
}

/** Records a pending poll (RFC 9635 §5.2: the next poll must wait `wait` seconds). */
export async function touchGrantContinuation(q: Queryable, grantId: string): Promise<void> {
  await q.query('update grants set last_continued_at = now(), updated_at = now() where id = $1', [
    grantId
  ])
}

/**
 * Locks a grant row until the transaction ends, before revoking it: under READ COMMITTED a
 * statement sees only what was committed when it started, so `revokeGrant` must start after a
 * racing continuation (FOR UPDATE) or rotation (FOR SHARE) has committed its new token.
 */
export async function lockGrant(
  q: Queryable,
  grantId: string
): Promise<{ id: string; tenantId: string; client: string | null } | undefined> {
  const { rows } = await q.query<{ id: string; tenantId: string; client: string | null }>(
    'select id, tenant_id as "tenantId", client from grants where id = $1 for no key update',
    [grantId]
  )
  return rows[0]
}

/**
 * Revokes a grant and every token of it in one statement (RFC 9635 §5.4). False when the grant
 * was already revoked. Run it after `lockGrant` in the same transaction.
 */
export async function revokeGrant(q: Queryable, grantId: string): Promise<boolean> {
  const { rows } = await q.query<{ id: string }>(
    `with g as (
       update grants set state = 'FINALIZED', finalization_reason = 'REVOKED', updated_at = now()
       where id = $1 and finalization_reason is distinct from 'REVOKED' returning id
     ), t as (${revokeGrantTokensSql('g')})
     select id from g`,
    [grantId]
  )
  return rows.length === 1
}

// Retention (retention/retention-job.ts): at most $1 rows per statement, skipping rows another
// transaction holds, so requests in flight are never waited for.

// Each grant deleted leaves a `grant.purged` event (the retention job its actor), written by the
// same statement: the trail says where a grant went after its rows are gone.
const PURGED_EVENTS = `, e as (${insertEventSql('d', 3, {
  tenant: 'd.tenant_id',
  grant: 'd.id',
  client: 'd.client'
})})
  select count(*)::int as n from d`

// A finished grant (issued, revoked or rejected) whose tokens are all gone has nothing left to
// manage: its continuation is refused and no token points at it.
const DELETE_FINISHED_GRANTS = `with d as (delete from grants where id in (
  select g.id from grants g
  where g.created_at < now() - make_interval(secs => $2)
    and g.state = 'FINALIZED'
    and g.updated_at < now() - make_interval(secs => $2)
    and not exists (select 1 from access_tokens t where t.grant_id = g.id)
  limit $1 for update skip locked) returning id, tenant_id, client)${PURGED_EVENTS}`

// A grant still pending (or approved but never continued) this long after its creation was
// abandoned; its accesses, subjects and interaction go with it (on delete cascade).
const DELETE_ABANDONED_GRANTS = `with d as (delete from grants where id in (
  select id from grants
  where created_at < now() - make_interval(secs => $2)
    and state <> 'FINALIZED'
  limit $1 for update skip locked) returning id, tenant_id, client)${PURGED_EVENTS}`

const purged = (why: 'finished' | 'abandoned') =>
  eventParams({ type: 'grant.purged', actor: { kind: 'retention' }, details: { why } })

/** Deletes up to `limit` grants finished more than `olderThanS` seconds ago, with no token left. */
export async function deleteFinishedGrants(
  q: Queryable,
  limit: number,
  olderThanS: number
): Promise<number> {
  const { rows } = await q.query<{ n: number }>(DELETE_FINISHED_GRANTS, [
    limit,
    olderThanS,
    ...purged('finished')
  ])
  return rows[0]!.n
}

/** Deletes up to `limit` grants created more than `olderThanS` seconds ago and never finished. */
export async function deleteAbandonedGrants(
  q: Queryable,
  limit: number,
  olderThanS: number
): Promise<number> {
  const { rows } = await q.query<{ n: number }>(DELETE_ABANDONED_GRANTS, [
    limit,
    olderThanS,
    ...purged('abandoned')
  ])
  return rows[0]!.n
}
