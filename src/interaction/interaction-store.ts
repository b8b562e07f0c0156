import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import type { Queryable } from '../storage/db.js'
import { eventParams, insertEventSql, type EventOfChange } from '../audit/event-store.js'
import type { InteractionState } from './interaction-lifecycle.js'

/** An interaction with what its flows need of its grant and tenant, in one read. */
export interface InteractionView {
  id: string
  ref: string
  nonce: string
  state: InteractionState
  expired: boolean
  grantId: string
  grantState: GrantState
  finalizationReason: FinalizationReason | null
  finishMethod: string | null
  finishUri: string | null
  clientNonce: string | null
  grantUri: string
  client: string | null
  clientName: string | null
  continueId: string
  tenantId: string
  idpConsentUrl: string | null
  idpSecretHash: Uint8Array | null
}

// Expiry is judged by the database clock, the same clock that stamped created_at; the rule is
// interaction-lifecycle's isInteractionExpired (a property test holds the two equal).
const VIEW = `select i.id, i.ref, i.nonce, i.state,
    i.created_at + make_interval(secs => i.expires_in) < now() as expired,
    g.id as "grantId", g.state as "grantState", g.finalization_reason as "finalizationReason",
    g.finish_method as "finishMethod", g.finish_uri as "finishUri", g.client_nonce as "clientNonce",
    g.grant_uri as "grantUri", g.client, g.client_name as "clientName", g.continue_id as "continueId",
    g.tenant_id as "tenantId", n.idp_consent_url as "idpConsentUrl", n.idp_secret_hash as "idpSecretHash"
  from interactions i
  join grants g on g.id = i.grant_id
  join tenants n on n.id = g.tenant_id and n.deleted_at is null`

/**
 * An `insert into interactions` for a CTE: one PENDING interaction (id, reference, nonce and
 * lifetime in the parameters named) for the grant the CTE `grant` returns.
 */
export function insertInteractionSql(
  grant: string,
  id: string,
  ref: string,
  nonce: string,
  expiresIn: string
): string {
  return `insert into interactions (id, grant_id, ref, nonce, state, expires_in)
  select ${id}::uuid, ${grant}.id, ${ref}::uuid, ${nonce}::text, 'PENDING', ${expiresIn}::integer
  from ${grant}`
}

/** The interaction with this id and nonce (both come from the same URL the AS handed out). */
export async function findInteraction(
  q: Queryable,
  id: string,
  nonce: string
): Promise<InteractionView | undefined> {
  const { rows } = await q.query<InteractionView>(`${VIEW} where i.id = $1 and i.nonce = $2`, [
    id,
    nonce
  ])
  return rows[0]
}

/** The interaction of a grant by its reference (RFC 9635 §5.1 `interact_ref`). */
export async function findInteractionByRef(
  q: Queryable,
  ref: string,
  grantId: string
): Promise<InteractionView | undefined> {
  const { rows } = await q.query<InteractionView>(`${VIEW} where i.ref = $1 and i.grant_id = $2`, [
    ref,
    grantId
  ])
  return rows[0]
}

/**
 * Records the account holder's decision, only while the interaction is pending and unexpired:
 * of two racing decisions exactly one is recorded. False when it was not.
 */
export async function decideInteraction(
  q: Queryable,
  id: string,
  state: Exclude<InteractionState, 'PENDING'>
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update interactions set state = $2, updated_at = now()
     where id = $1 and state = 'PENDING' and created_at + make_interval(secs => expires_in) >= now()`,
    [id, state]
  )
  return rowCount === 1
}

/**
 * Records when the finish sent the browser back to the client after the decision (RFC 9635
 * §4.2.3), for operators; only the first finish counts (a replayed session cookie finishes
 * again, changing nothing).
 */
export async function recordFinish(
  q: Queryable,
  interaction: { id: string; grantId: string; tenantId: string },
  event: EventOfChange
): Promise<void> {
  // The first finish only, with its audit event (`grant.finished`) in the same statement.
  await q.query(
    `with f as (
       update interactions set finished_at = now() where id = $1 and finished_at is null
       returning grant_id
     ), e as (${insertEventSql('f', 3, { tenant: '$2::uuid', grant: 'f.grant_id' })})
     select 1`,
    [interaction.id, interaction.tenantId, ...eventParams(event)]
  )
}
