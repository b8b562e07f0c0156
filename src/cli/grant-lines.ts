import {
  accessInWords,
  interactionSteps,
  tokensInWords,
  type HistoryStep
} from '../consent/grant-words.js'
import type { AuditEvent } from '../audit/events.js'
import { eventSentence } from '../consent/event-words.js'
import type { AdminGrant, GrantHistory } from '../grant/grant-admin-store.js'
import { rawStateOf, statusOf, statusWords } from '../grant/grant-status.js'
import type { TableColumn } from './fit-table.js'

/*
 * A grant as `opas grants list` and `opas grants show` print it: the console's words (its
 * status, its access as the consent screen says it, its interactions and tokens), as text.
 */

/** A time to the second, in UTC. */
export const instant = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z')

/** A grant's access in words, one line per access item. */
export function grantInWords(grant: AdminGrant): string[] {
  return grant.access.map((item) => {
    const words = accessInWords(item)
    const limits = words.limits.length ? ` (${words.limits.join('; ')})` : ''
    return `${words.title}: ${words.actions.join(', ')} on ${words.walletAddress ?? 'any account'}${limits}`
  })
}

/**
 * The columns of `grants list`. At a terminal, long cells are cut and columns left out to fit
 * its width, in this order: tenant, created, allows, client; the id and status never.
 */
export const grantColumns: TableColumn[] = [
  { head: 'id' },
  { head: 'status' },
  { head: 'created', leaveOutRank: 2 },
  { head: 'client', cutTo: 12, leaveOutRank: 4 },
  { head: 'allows', cutTo: 16, leaveOutRank: 3 },
  { head: 'tenant', cutTo: 9, cutFirst: true, leaveOutRank: 1 }
]

/** A grant's row under grantColumns. */
export const grantRow = (grant: AdminGrant): string[] => [
  grant.id,
  statusOf(grant),
  instant(grant.createdAt),
  grant.client ?? '(key)',
  grantInWords(grant).join('\n'),
  grant.tenantId
]

/** "Finished 2025-03-01T10:01:05Z: the account holder was sent back to the app" */
const stepLine = (step: HistoryStep) => `${step.words} ${instant(step.at)}${step.after ?? ''}`

/** The console grant page's interactions and tokens, as lines (never a token value). */
function historyLines(history: GrantHistory): string[] {
  const interactions = history.interactions.flatMap((i, at) =>
    interactionSteps(i).map((step, n) => `${n === 0 ? `  ${at + 1}  ` : '     '}${stepLine(step)}`)
  )
  const tokens = tokensInWords(history.tokens).map(
    (t) => `  ${t.number}  ${stepLine(t.issued)}; ${stepLine(t.end)}`
  )
  return [
    interactions.length ? 'interactions' : 'interactions  none: this grant needed no consent',
    ...interactions,
    tokens.length ? 'tokens' : 'tokens  none issued',
    ...tokens
  ]
}

/** The grant's audit trail, oldest first: when, what, who acted and from where. */
const eventLines = (events: AuditEvent[]): string[] =>
  events.length
    ? ['history', ...events.map((event) => `  ${instant(event.at)}  ${eventSentence(event)}`)]
    : []

/** `grants show`: one grant whole, as the console's grant page reads it. */
export function grantShown(
  grant: AdminGrant,
  history: GrantHistory,
  events: AuditEvent[] = []
): string {
  const status = statusOf(grant)
  return [
    `grant    ${grant.id}`,
    `tenant   ${grant.tenantId}`,
    `client   ${grant.client ?? '(directed identity: a key)'}`,
    `status   ${status}: ${statusWords[status].meaning}`,
    `state    ${rawStateOf(grant)}`,
    `created  ${instant(grant.createdAt)}`,
    'allows',
    ...grantInWords(grant).map((line) => `  ${line}`),
    ...grant.subIds.map((s) => `  subject ${s.subId} (${s.subIdFormat})`),
    ...eventLines(events),
    ...historyLines(history)
  ].join('\n')
}
