import type { ActorKind, EventType } from '../audit/events.js'

/**
 * Which events of the audit trail a wallet's backend is told of, and in what words: the
 * webhook's type, and its `data` built from the event (never a token or a secret: the trail
 * holds none). Pure.
 */

/** The trail's type → the webhook's (a token is an `access_token`, as in Open Payments). */
export const webhookTypeOf = {
  'grant.approved': 'grant.approved',
  'grant.rejected': 'grant.rejected',
  'grant.issued': 'grant.issued',
  'grant.revoked': 'grant.revoked',
  'token.rotated': 'access_token.rotated',
  'token.revoked': 'access_token.revoked',
  'tenant.created': 'tenant.created',
  'tenant.updated': 'tenant.updated',
  'tenant.deleted': 'tenant.deleted'
} as const satisfies Partial<Record<EventType, string>>

export type WebhookSourceType = keyof typeof webhookTypeOf
export type WebhookType = (typeof webhookTypeOf)[WebhookSourceType]

/** The trail's types that are sent, for the statement that reads them. */
export const webhookSourceTypes = Object.keys(webhookTypeOf) as WebhookSourceType[]

/** An event as the deliverer reads it, with its grant's access (none for a tenant's event). */
export interface SourceEvent {
  /** The audit event's number (a bigint, as text). */
  id: string
  at: Date | string
  type: WebhookSourceType
  tenantId: string | null
  grantId: string | null
  client: string | null
  actorKind: ActorKind
  actor: string | null
  /** A tenant's event's details (a grant's are not read: its webhook does not tell them). */
  details: Record<string, unknown>
  /** The grant's access rights as stored (null: none left, the grant deleted since). */
  access: Array<{
    type: string
    actions: string[]
    identifier: string | null
    limits: unknown
  }> | null
}

/** A grant's state after the change, in Rafiki's words (its admin API's `state` and reason). */
const grantStateAfter: Partial<
  Record<WebhookSourceType, { state: string; finalizationReason?: string }>
> = {
  'grant.approved': { state: 'APPROVED' },
  'grant.rejected': { state: 'FINALIZED', finalizationReason: 'REJECTED' },
  'grant.issued': { state: 'FINALIZED', finalizationReason: 'ISSUED' },
  'grant.revoked': { state: 'FINALIZED', finalizationReason: 'REVOKED' }
}

/**
 * Who acted, as a receiver is told: the kind, and which one where that names a party to the
 * grant or a tenant (a wallet address, a key thumbprint, a tenant id). The CLI's user and host,
 * and the host of a start, are the operator's own and are not sent.
 */
function actorOf(event: SourceEvent): { id?: string; kind: ActorKind } {
  const named =
    event.actor !== null && event.actorKind !== 'cli' && event.actorKind !== 'configuration'
  return named ? { id: event.actor!, kind: event.actorKind } : { kind: event.actorKind }
}

/** Only these of a tenant event's details: which fields changed (never a value but the URL's). */
const TENANT_DETAILS = ['fields', 'cleared', 'idpConsentUrl', 'webhookUrl'] as const

/**
 * The webhook's type and `data` for an event of one of webhookSourceTypes. A grant's (nearly
 * every webhook) is built with its keys in order (RFC 8785 §3.2.3), so that canonicalJson writes
 * it as it is, without a copy.
 */
export function webhookOf(event: SourceEvent): {
  type: WebhookType
  data: Record<string, unknown>
} {
  const at = new Date(event.at).toISOString()
  const type = webhookTypeOf[event.type]
  if (event.type.startsWith('tenant.')) {
    // Rare: left for canonicalJson to order.
    const data: Record<string, unknown> = {
      auditEventId: event.id,
      at,
      tenantId: event.tenantId,
      actor: actorOf(event)
    }
    for (const key of TENANT_DETAILS) {
      if (event.details[key] !== undefined) data[key] = event.details[key]
    }
    return { type, data }
  }
  const data: Record<string, unknown> = {
    access: (event.access ?? []).map(({ type, actions, identifier, limits }) => {
      const item: Record<string, unknown> = { actions }
      if (identifier !== null) item.identifier = identifier
      if (limits !== null && limits !== undefined) item.limits = limits
      item.type = type
      return item
    }),
    actor: actorOf(event),
    at,
    auditEventId: event.id,
    client: event.client
  }
  const state = grantStateAfter[event.type]
  if (state?.finalizationReason) data.finalizationReason = state.finalizationReason
  data.grantId = event.grantId
  if (state) data.state = state.state
  data.tenantId = event.tenantId
  return { type, data }
}

/** The key a delivery is ordered by: the grant's id, or for a tenant's own event the tenant's. */
export const orderKeyOf = (event: Pick<SourceEvent, 'grantId' | 'tenantId'>): string | null =>
  event.grantId ?? event.tenantId

/**
 * A webhook's id: a UUIDv8 (RFC 9562 §5.8) of the database's namespace (its first 62 bits) and
 * the event's number (62 bits). The same event always has the same id, also when it is sent
 * again after a crash, before its delivery was written down; a receiver drops a repeat by it;
 * and the id names its event, so a delivery is found by its id without an index of its own.
 */
export function webhookIdOf(namespace: string, eventId: string): string {
  const low = (BigInt(eventId) | VARIANT).toString(16).padStart(16, '0')
  return `${idPrefixOf(namespace)}${low.slice(0, 4)}-${low.slice(4)}`
}

const VARIANT = 2n << 62n // variant 10, then the event's number

/** The id's first 8 bytes (the namespace's, version 8), formatted: the same for every id. */
let lastPrefix: { namespace: string; prefix: string } | undefined
function idPrefixOf(namespace: string): string {
  if (lastPrefix?.namespace === namespace) return lastPrefix.prefix
  const bytes = Buffer.from(namespace.replace(/-/g, ''), 'hex').subarray(0, 8)
  bytes[6] = 0x80 | (bytes[6]! & 0x0f) // version 8
  const hex = bytes.toString('hex')
  const prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-`
  lastPrefix = { namespace, prefix }
  return prefix
}

/** The event number a webhook id names (undefined: not an id webhookIdOf makes). */
export function eventIdOfWebhook(id: string): string | undefined {
  const hex = id.replace(/-/g, '')
  if (!/^[0-9a-f]{32}$/i.test(hex) || hex[12]!.toLowerCase() !== '8') return undefined
  const low = Buffer.from(hex.slice(16), 'hex').readBigUInt64BE(0)
  if (low >> 62n !== 2n) return undefined
  return String(low & ((1n << 62n) - 1n))
}
