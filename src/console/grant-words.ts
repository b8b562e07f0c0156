import { toAccessWire, type OutgoingLimits } from '../gnap/access.js'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import { describeAccess, type AccessDescription } from '../consent/describe-access.js'

/**
 * A grant in the words support staff use: one status for the state and its reason (RFC 9635
 * §1.5), and its access items in the consent screen's wording, so that what the account holder
 * agreed to and what the operator reads are the same sentences.
 */

export const grantStatuses = [
  'pending',
  'approved',
  'issued',
  'revoked',
  'rejected',
  'processing'
] as const
export type GrantStatus = (typeof grantStatuses)[number]

export const statusWords: Record<GrantStatus, { label: string; meaning: string }> = {
  pending: { label: 'Pending', meaning: 'waiting for the account holder' },
  approved: { label: 'Approved', meaning: 'accepted; the app has not collected its token yet' },
  issued: { label: 'Issued', meaning: 'the app holds a token' },
  revoked: { label: 'Revoked', meaning: 'ended by the app or an operator; its tokens are dead' },
  rejected: { label: 'Rejected', meaning: 'the account holder declined' },
  processing: { label: 'Processing', meaning: 'an older grant state, not written any more' }
}

export function statusOf(state: GrantState, reason: FinalizationReason | null): GrantStatus {
  switch (state) {
    case 'PENDING':
      return 'pending'
    case 'APPROVED':
      return 'approved'
    case 'PROCESSING':
      return 'processing'
    case 'FINALIZED':
      return reason === 'REVOKED' ? 'revoked' : reason === 'REJECTED' ? 'rejected' : 'issued'
  }
}

/** The listing filter of a status: its state, and for a finalized grant its reason. */
export function filterOfStatus(status: GrantStatus): {
  stateIn: GrantState[]
  reasonIn?: FinalizationReason[]
} {
  switch (status) {
    case 'pending':
      return { stateIn: ['PENDING'] }
    case 'approved':
      return { stateIn: ['APPROVED'] }
    case 'processing':
      return { stateIn: ['PROCESSING'] }
    case 'issued':
      return { stateIn: ['FINALIZED'], reasonIn: ['ISSUED'] }
    case 'revoked':
      return { stateIn: ['FINALIZED'], reasonIn: ['REVOKED'] }
    case 'rejected':
      return { stateIn: ['FINALIZED'], reasonIn: ['REJECTED'] }
  }
}

export const isGrantStatus = (value: unknown): value is GrantStatus =>
  typeof value === 'string' && (grantStatuses as readonly string[]).includes(value)

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
