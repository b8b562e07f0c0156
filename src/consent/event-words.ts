import { eventTypes, type AuditEvent, type EventType } from '../audit/events.js'
import { accessInWords } from './grant-words.js'

/*
 * The audit trail in words, for the console's Activity page and grant page and the CLI alike:
 * what happened, who acted ("the client https://…", "operator via admin API (tenant …)") and
 * what changed, so that every surface tells an event in the same sentence. Plain text: each
 * surface escapes it its own way.
 */

/** An event type as a heading ("Grant revoked") and as a verb of its grant's story ("Revoked"). */
const typeWords: Record<EventType, { title: string; verb: string }> = {
  'grant.requested': { title: 'Grant requested', verb: 'Requested' },
  'grant.approved': { title: 'Grant approved', verb: 'Approved' },
  'grant.rejected': { title: 'Grant rejected', verb: 'Rejected' },
  'grant.issued': { title: 'Grant issued', verb: 'Issued' },
  'grant.continued': { title: 'Grant continued', verb: 'Continued' },
  'grant.revoked': { title: 'Grant revoked', verb: 'Revoked' },
  'grant.finished': { title: 'Interaction finished', verb: 'Interaction finished' },
  'grant.purged': { title: 'Grant deleted', verb: 'Deleted' },
  'token.rotated': { title: 'Token rotated', verb: 'Token rotated' },
  'token.revoked': { title: 'Token revoked', verb: 'Token revoked' },
  'tenant.created': { title: 'Tenant created', verb: 'Tenant created' },
  'tenant.updated': { title: 'Tenant changed', verb: 'Tenant changed' },
  'tenant.deleted': { title: 'Tenant deleted', verb: 'Tenant deleted' },
  'console.signed_in': { title: 'Console sign-in', verb: 'Signed in to the console' },
  'console.sign_in_refused': { title: 'Console sign-in refused', verb: 'Sign-in refused' },
  'console.signed_out': { title: 'Console sign-out', verb: 'Signed out of the console' },
  'webhook.retried': { title: 'Webhook retried', verb: 'Webhook retried' }
}

const wordsOf = (type: string) =>
  (typeWords as Record<string, { title: string; verb: string } | undefined>)[type] ?? {
    title: type,
    verb: type
  }

/** "Grant revoked": an event type as a heading (a type this version does not know, as is). */
export const eventTitle = (type: string): string => wordsOf(type).title

/** The event types in groups (by what they concern), as a filter offers them. */
export const eventTypeGroups: readonly {
  group: string
  label: string
  types: readonly EventType[]
}[] = (
  [
    ['grant', 'Grants'],
    ['token', 'Tokens'],
    ['tenant', 'Tenants'],
    ['console', 'Console'],
    ['webhook', 'Webhooks']
  ] as const
).map(([group, label]) => ({
  group,
  label,
  types: eventTypes.filter((type) => type.startsWith(`${group}.`))
}))

/**
 * Who acted, in words: "the client https://wallet.example/app", "the IdP of tenant …",
 * "operator via admin API (tenant …)", "console user (tenant …)", "CLI root@host"…
 */
export function actorInWords(event: Pick<AuditEvent, 'actorKind' | 'actor'>): string {
  const { actor } = event
  switch (event.actorKind) {
    case 'client':
      if (actor === null) return 'the client'
      return actor.startsWith('jwk:')
        ? `the client known by its key ${actor.slice(4)}`
        : `the client ${actor}`
    case 'account-holder':
      return 'the account holder'
    case 'idp':
      return `the IdP of tenant ${actor ?? '(unknown)'}`
    case 'admin-api':
      return `operator via admin API (tenant ${actor ?? '(unknown)'})`
    case 'service-api':
      return 'the wallet backend via the service API'
    case 'console':
      return actor === null
        ? 'someone at the console (with an id that is no tenant)'
        : `console user (tenant ${actor})`
    case 'cli':
      return `CLI ${actor ?? '(unknown user)'}`
    case 'configuration':
      return `the configuration at start (${actor ?? 'unknown host'})`
    case 'retention':
      return 'the retention job'
    default:
      return actor === null ? String(event.actorKind) : `${String(event.actorKind)} ${actor}`
  }
}

/** "Revoked by console user (tenant …) from 127.0.0.1": an event of a grant's story. */
export function eventSentence(
  event: Pick<AuditEvent, 'type' | 'actorKind' | 'actor' | 'remoteAddress'>
): string {
  const from = event.remoteAddress ? ` from ${event.remoteAddress}` : ''
  return `${wordsOf(event.type).verb} by ${actorInWords(event)}${from}`
}

/** A tenant's fields as people name them. */
const tenantFields: Record<string, string> = {
  apiSecret: 'API secret',
  idpConsentUrl: 'IdP consent URL',
  idpSecret: 'IdP secret',
  webhookUrl: 'webhook URL',
  webhookSecret: 'webhook secret'
}
const fieldName = (field: unknown): string => tenantFields[String(field)] ?? String(field)
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

/** A tenant's change: which fields were set (the consent URL's value; never a secret), which removed. */
function tenantChangeInWords(details: Record<string, unknown>): string {
  const set = listOf(details.fields).map((field) => {
    if (field === 'idpConsentUrl' && typeof details.idpConsentUrl === 'string') {
      return `IdP consent URL to ${details.idpConsentUrl}`
    }
    if (field === 'webhookUrl' && typeof details.webhookUrl === 'string') {
      return `webhook URL to ${details.webhookUrl}`
    }
    if (field === 'apiSecret' && details.apiSecret === 'generated') return 'API secret (generated)'
    if (field === 'webhookSecret' && details.webhookSecret === 'generated') {
      return 'webhook secret (generated)'
    }
    return fieldName(field)
  })
  const cleared = listOf(details.cleared).map(fieldName)
  return [
    ...(set.length ? [`set ${set.join(', ')}`] : []),
    ...(cleared.length ? [`removed ${cleared.join(', ')}`] : [])
  ].join('; ')
}

const purgeReasons: Record<string, string> = {
  finished: 'finished, with no token left, past its retention period',
  abandoned: 'never finished, past its retention period'
}

/**
 * What a grant asked for, in the consent screen's titles and actions: "Send payments (create
 * payments, …) on https://…". The trail keeps no limits (they stay with the grant): none shown.
 */
function accessAskedInWords(access: unknown): string | undefined {
  if (!Array.isArray(access)) return undefined
  const items = access.map((item: unknown) => {
    const { type, actions, identifier } = (item ?? {}) as Record<string, unknown>
    if (typeof type !== 'string' || !Array.isArray(actions)) return undefined
    const words = accessInWords({
      type,
      actions: actions.map(String),
      identifier: typeof identifier === 'string' ? identifier : null,
      limits: null
    })
    const what = words.actions.length ? ` (${words.actions.join(', ')})` : ''
    return `${words.title}${what}${words.walletAddress ? ` on ${words.walletAddress}` : ''}`
  })
  return items.every((item) => item !== undefined) ? `asked for ${items.join('; ')}` : undefined
}

const continuationWords: Record<string, string> = {
  interact_ref: 'after the account holder answered',
  poll: 'by polling'
}

/** A grant continued (RFC 9635 §5): how. */
const continuationInWords = (details: Record<string, unknown>): string | undefined =>
  typeof details.continuation === 'string' ? continuationWords[details.continuation] : undefined

/**
 * A grant issued: at once (no consent needed; its one event says what was asked), or on
 * continuation with or without a token.
 */
function issueInWords(details: Record<string, unknown>): string | undefined {
  if (details.access !== undefined) {
    const asked = accessAskedInWords(details.access)
    return asked ? `at once, no consent needed: ${asked}` : undefined
  }
  if (details.token === true) return 'with an access token'
  if (details.token === false) return 'with no access token (subject information only)'
  return undefined
}

/** The account holder sent back to the app (RFC 9635 §4.2): what they decided, and how. */
function finishInWords(details: Record<string, unknown>): string | undefined {
  const decision = details.decision === 'approved' || details.decision === 'rejected'
  if (!decision) return undefined
  const back =
    details.returnedBy === 'redirect'
      ? ', sent back to the app'
      : details.returnedBy === 'polling'
        ? ', told to go back to the app (it polls)'
        : ''
  return `${String(details.decision)}${back}`
}

/** Any other detail, as `name: value`. */
const rawDetails = (details: Record<string, unknown>): string =>
  Object.entries(details)
    .map(([name, value]) => `${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('; ')

/**
 * What an event's details say, in words ("set IdP consent URL to https://…; removed IdP
 * secret", "never finished, past its retention period"); empty when there are none.
 */
export function detailsInWords(event: Pick<AuditEvent, 'type' | 'details'>): string {
  const details = event.details ?? {}
  if (Object.keys(details).length === 0) return ''
  switch (event.type) {
    case 'tenant.created':
    case 'tenant.updated':
      return tenantChangeInWords(details) || rawDetails(details)
    case 'grant.requested':
      return accessAskedInWords(details.access) ?? rawDetails(details)
    case 'grant.issued':
      return issueInWords(details) ?? rawDetails(details)
    case 'grant.continued':
      return continuationInWords(details) ?? rawDetails(details)
    case 'grant.finished':
      return finishInWords(details) ?? rawDetails(details)
    case 'webhook.retried':
      return typeof details.webhookType === 'string' && typeof details.webhookId === 'string'
        ? `${details.webhookType} (webhook ${details.webhookId}, event ${String(details.eventId)})`
        : rawDetails(details)
    case 'grant.purged':
      return (
        (typeof details.why === 'string' ? purgeReasons[details.why] : undefined) ??
        rawDetails(details)
      )
    default:
      return rawDetails(details)
  }
}
