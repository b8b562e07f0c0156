import { toAccessWire, type OutgoingLimits } from '../gnap/access.js'
import { describeAccess, type AccessDescription } from './describe-access.js'
import type { GrantHistory } from '../grant/grant-admin-store.js'
import { tokenStatusOf, type TokenStatus } from '../grant/grant-status.js'

/*
 * A grant in the words support staff use, on the console's pages and in the CLI alike: its
 * access items in the consent screen's wording, so that what the account holder agreed to and
 * what the operator reads are the same sentences, and its history (interactions, tokens). Its
 * status is the grant domain's (grant/grant-status.ts).
 */

/** A moment in words: `words` at `at`, then `after` ("Issued" 10:02 " by rotating token 1"). */
export interface HistoryStep {
  words: string
  at: Date
  after?: string
}

/** An interaction (RFC 9635 §4): started, accepted or rejected, finished, or still open. */
export function interactionSteps(i: GrantHistory['interactions'][number]): HistoryStep[] {
  const steps: HistoryStep[] = [
    { words: 'Started', at: i.createdAt, after: ': the app sent the account holder to consent' }
  ]
  if (i.state === 'APPROVED' && i.decidedAt) steps.push({ words: 'Accepted', at: i.decidedAt })
  if (i.state === 'DENIED' && i.decidedAt) steps.push({ words: 'Rejected', at: i.decidedAt })
  if (i.finishedAt) {
    steps.push({
      words: 'Finished',
      at: i.finishedAt,
      after: ': the account holder was sent back to the app'
    })
  } else if (i.state === 'PENDING') {
    steps.push(
      i.expired
        ? { words: 'Expired unanswered', at: i.expiresAt }
        : { words: 'Waiting for the account holder until', at: i.expiresAt }
    )
  }
  return steps
}

/** A token numbered in its grant's order: when it was issued, and it is live or how it ended. */
export interface TokenInWords {
  number: number
  status: TokenStatus
  issued: HistoryStep
  end: HistoryStep
}

/** A grant's tokens (never a value), numbered, each rotation naming its tokens' numbers. */
export function tokensInWords(tokens: GrantHistory['tokens']): TokenInWords[] {
  const ids = tokens.map((t) => t.id)
  const numberOf = (id: string | null) => {
    const at = id === null ? -1 : ids.indexOf(id)
    return at < 0 ? undefined : at + 1
  }
  return tokens.map((t, index) => {
    const status = tokenStatusOf(t)
    const from = numberOf(t.rotatedFrom)
    const next = numberOf(t.replacedBy)
    const issued: HistoryStep = {
      words: 'Issued',
      at: t.createdAt,
      ...(from ? { after: ` by rotating token ${from}` } : {})
    }
    const end: Record<TokenStatus, HistoryStep> = {
      rotated: {
        words: 'rotated',
        at: t.revokedAt ?? t.createdAt,
        ...(next ? { after: `, replaced by token ${next}` } : {})
      },
      revoked: { words: 'revoked', at: t.revokedAt ?? t.createdAt },
      expired: { words: 'expired', at: t.expiresAt },
      live: { words: 'live; expires', at: t.expiresAt }
    }
    return { number: index + 1, status, issued, end: end[status] }
  })
}

/** A stored access item (the admin store's shape), as the consent screen words it. */
export const accessInWords = (item: {
  type: string
  actions: string[]
  identifier: string | null
  limits: OutgoingLimits | null
}): AccessDescription => describeAccess(toAccessWire(item))

/**
 * One line per access item for a listing: "Send payments: up to USD 5.00 each month". Read
 * rights name their actions instead of limits: "Receive payments: create incoming payments,
 * see the incoming payments it made".
 */
export function accessSummary(item: AccessDescription): string {
  const details = item.limits.length > 0 ? item.limits : item.actions
  return details.length > 0 ? `${item.title}: ${details.join('; ')}` : item.title
}
