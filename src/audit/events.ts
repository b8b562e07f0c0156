import { createHash } from 'node:crypto'
import type { ClientIdentity } from '../gnap/client-identity.js'

/**
 * The audit trail's vocabulary: what happened (an event type), who did it (an actor) and from
 * where (the request). Every change of state writes one event in the same transaction or
 * statement as the change (event-store.ts), so the trail answers an auditor's "who revoked this
 * grant, when, from where?" after the logs have rotated. A read (introspection, a listing)
 * writes none.
 */

export const eventTypes = [
  // A grant's life (RFC 9635 §1.5), and its tokens' (§6).
  'grant.requested',
  'grant.approved',
  'grant.rejected',
  'grant.issued',
  'grant.continued',
  'grant.revoked',
  'grant.finished',
  'grant.purged',
  'token.rotated',
  'token.revoked',
  // Tenants (the service API, the console, the CLI): which fields changed, never a secret.
  'tenant.created',
  'tenant.updated',
  'tenant.deleted',
  // The operator console.
  'console.signed_in',
  'console.sign_in_refused',
  'console.signed_out',
  // A webhook tried again at an operator's word (its event and its id in the details).
  'webhook.retried'
] as const
export type EventType = (typeof eventTypes)[number]

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (eventTypes as readonly string[]).includes(value)

/**
 * Who acted. A client is named by its wallet address, or a directed-identity client by its
 * key's thumbprint; an operator by its tenant and the surface it used; the CLI by the OS user
 * and host that ran it.
 */
export type Actor =
  | { kind: 'client'; walletAddress: string }
  | { kind: 'client'; keyThumbprint: string }
  | { kind: 'account-holder' }
  | { kind: 'idp'; tenantId: string }
  | { kind: 'admin-api'; tenantId: string }
  | { kind: 'service-api' }
  /** A tenant at the console (null: a sign-in refused for an id that is not a tenant's). */
  | { kind: 'console'; tenantId: string | null }
  | { kind: 'cli'; user: string; host: string }
  /** opas at start, from its configuration (the operator tenant), on this host. */
  | { kind: 'configuration'; host: string }
  | { kind: 'retention' }

export type ActorKind = Actor['kind']

/** How an actor is stored and shown: its kind, and which one (null when the kind says all). */
export function actorColumns(actor: Actor): { kind: ActorKind; name: string | null } {
  switch (actor.kind) {
    case 'client':
      return {
        kind: actor.kind,
        name: 'walletAddress' in actor ? actor.walletAddress : `jwk:${actor.keyThumbprint}`
      }
    case 'idp':
    case 'admin-api':
    case 'console':
      return { kind: actor.kind, name: actor.tenantId }
    case 'cli':
      return { kind: actor.kind, name: `${actor.user}@${actor.host}` }
    case 'configuration':
      return { kind: actor.kind, name: actor.host }
    case 'account-holder':
    case 'service-api':
    case 'retention':
      return { kind: actor.kind, name: null }
  }
}

/** Where a change came from: the request that made it, when one did (not the CLI's). */
export interface EventOrigin {
  actor: Actor
  requestId?: string
  remoteAddress?: string
}

/** One event as written. */
export interface NewEvent extends EventOrigin {
  type: EventType
  tenantId: string | null
  grantId?: string | null
  /** The grant's client: its wallet address, or `jwk:<thumbprint>`. */
  client?: string | null
  /** What changed, in the event's words; never a secret or a token. */
  details?: Record<string, unknown>
}

/** One event as read. */
export interface AuditEvent {
  /** Its number in the order events were written (a bigint, as text). */
  id: string
  at: Date
  type: EventType
  tenantId: string | null
  grantId: string | null
  client: string | null
  actorKind: ActorKind
  actor: string | null
  requestId: string | null
  remoteAddress: string | null
  details: Record<string, unknown>
}

/**
 * A directed-identity client's name: its key's RFC 7638 thumbprint (SHA-256 over the required
 * members of its Ed25519 JWK, in lexicographic order), which no client can choose for another key.
 */
export function keyThumbprint(jwk: { crv?: unknown; kty?: unknown; x?: unknown }): string {
  const required = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })
  return createHash('sha256').update(required, 'utf8').digest('base64url')
}

/**
 * A client acting on its own grant, as its events name it: the actor, and the grant's client
 * (its wallet address, or `jwk:<thumbprint>`), the key's thumbprint computed once.
 */
export function clientAsActor(client: ClientIdentity): { actor: Actor; client: string } {
  if (client.kind === 'walletAddress') {
    return {
      actor: { kind: 'client', walletAddress: client.walletAddress },
      client: client.walletAddress
    }
  }
  const thumbprint = keyThumbprint(client.jwk)
  return { actor: { kind: 'client', keyThumbprint: thumbprint }, client: `jwk:${thumbprint}` }
}

/** A grant's client as the trail names it: its wallet address, or `jwk:<thumbprint>`. */
export const clientName = (client: ClientIdentity): string => clientAsActor(client).client

/** An event id as written in a cursor (`before`): a positive integer, as the table numbers them. */
export const isEventId = (value: string): boolean => /^[1-9][0-9]{0,18}$/.test(value)
