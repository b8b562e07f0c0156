import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'

/**
 * A grant's status: the one vocabulary of every operator surface (the console, the CLI, the
 * docs), derived from the grant's state and reason (RFC 9635 §1.5, as Rafiki stores them) and
 * its tokens. A grant finalized as ISSUED stays so when its tokens are revoked one by one
 * (RFC 9635 §6.2) or expire; its status says whether the app still holds a live token. The raw
 * state stays what the admin API answers (Rafiki's API) and a detail the surfaces show.
 */
export const grantStatuses = [
  'pending',
  'approved',
  'issued',
  'inactive',
  'revoked',
  'rejected',
  'processing'
] as const
export type GrantStatus = (typeof grantStatuses)[number]

export const statusWords: Record<GrantStatus, { label: string; meaning: string }> = {
  pending: { label: 'Pending', meaning: 'waiting for the account holder' },
  approved: { label: 'Approved', meaning: 'accepted; the app has not collected its token yet' },
  issued: { label: 'Issued', meaning: 'the app holds a live token' },
  inactive: {
    label: 'Inactive',
    meaning:
      'issued, but the app holds no live token: each expired or was revoked, or none was asked for'
  },
  revoked: { label: 'Revoked', meaning: 'ended by the app or an operator; its tokens are dead' },
  rejected: { label: 'Rejected', meaning: 'the account holder declined' },
  processing: { label: 'Processing', meaning: 'an older grant state, not written any more' }
}

/** What a status is derived from: the stored state and reason, and the tokens' state. */
export interface GrantStatusFacts {
  state: GrantState
  finalizationReason: FinalizationReason | null
  /** An unrevoked, unexpired token of the grant exists (by the database clock). */
  hasLiveToken: boolean
}

/** The status of a grant (see grantStatuses). */
export function statusOf(grant: GrantStatusFacts): GrantStatus {
  switch (grant.state) {
    case 'PENDING':
      return 'pending'
    case 'APPROVED':
      return 'approved'
    case 'PROCESSING':
      return 'processing'
    case 'FINALIZED':
      if (grant.finalizationReason === 'REVOKED') return 'revoked'
      if (grant.finalizationReason === 'REJECTED') return 'rejected'
      return grant.hasLiveToken ? 'issued' : 'inactive'
  }
}

/** The raw state as Rafiki names it: `FINALIZED (ISSUED)`, for operators who know its API. */
export const rawStateOf = (grant: Omit<GrantStatusFacts, 'hasLiveToken'>): string =>
  grant.finalizationReason ? `${grant.state} (${grant.finalizationReason})` : grant.state

/** The statuses a raw state covers: what `--state FINALIZED` means in status words. */
export const statusesOfState: Record<GrantState, readonly GrantStatus[]> = {
  PENDING: ['pending'],
  APPROVED: ['approved'],
  PROCESSING: ['processing'],
  FINALIZED: ['issued', 'inactive', 'revoked', 'rejected']
}

export const isGrantStatus = (value: unknown): value is GrantStatus =>
  typeof value === 'string' && (grantStatuses as readonly string[]).includes(value)

/**
 * The statuses a word names, whatever its case: a status, or for compatibility a raw state
 * (PENDING, APPROVED, FINALIZED, PROCESSING); undefined for anything else.
 */
export function statusesNamed(word: string): readonly GrantStatus[] | undefined {
  const lower = word.toLowerCase()
  if (isGrantStatus(lower)) return [lower]
  const upper = word.toUpperCase()
  return Object.hasOwn(statusesOfState, upper) ? statusesOfState[upper as GrantState] : undefined
}

/** A token of a grant, as operators read it: live, or how it ended. */
export type TokenStatus = 'live' | 'rotated' | 'revoked' | 'expired'

/** Rotation revokes the old token as it creates its replacement (RFC 9635 §6.1). */
export function tokenStatusOf(token: {
  revokedAt: Date | null
  replacedBy: string | null
  expired: boolean
}): TokenStatus {
  if (token.revokedAt) return token.replacedBy ? 'rotated' : 'revoked'
  return token.expired ? 'expired' : 'live'
}
