import { GnapError, invalidContinuation, requestDenied, tooFast } from '../gnap/gnap-error.js'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'

/**
 * The grant's continuation rules (RFC 9635 §5), pure: the service loads the grant, asks here,
 * and persists what is decided. Time is passed in, read off the database clock that stamped
 * `lastContinuedAt`.
 */

/** A move of a grant: from which states, to which state (and finalization reason). */
export interface GrantTransition {
  from: readonly GrantState[]
  to: { state: GrantState; finalizationReason: FinalizationReason | null }
}

/**
 * The moves of a grant (RFC 9635 §1.5), but revocation, which any unrevoked grant may take
 * (grant-store `revokeGrant`): the account holder decides a pending grant (§4), and an approved
 * one is issued once, by its continuation (§5).
 */
export const grantTransitions = {
  approve: { from: ['PENDING', 'PROCESSING'], to: { state: 'APPROVED', finalizationReason: null } },
  reject: {
    from: ['PENDING', 'PROCESSING'],
    to: { state: 'FINALIZED', finalizationReason: 'REJECTED' }
  },
  issue: { from: ['APPROVED'], to: { state: 'FINALIZED', finalizationReason: 'ISSUED' } }
} as const satisfies Record<string, GrantTransition>

/** What the continuation decision reads of a grant. */
export interface ContinuableGrant {
  state: GrantState
  finalizationReason: FinalizationReason | null
  /** The client's interaction finish method; a grant with one is continued, never polled. */
  finishMethod: string | null
  /** When the grant was requested or last polled: the next continuation waits `wait` from it. */
  lastContinuedAt: Date
}

/**
 * What the client sent: an interaction reference (§5.1), found among the grant's own
 * interactions or not, or none (a poll, §5.2).
 */
export type ContinuationRequest = { kind: 'poll' } | { kind: 'interact_ref'; found: boolean }

/** `issue`: finalise the approved grant with its token. `pending`: record the poll, answer `wait`. */
export type ContinuationDecision = 'issue' | 'pending'

/** §5: a continuation within `wait` seconds of the last one is too fast. */
export function isTooFast(grant: ContinuableGrant, now: Date, waitSeconds: number): boolean {
  return now.getTime() < grant.lastContinuedAt.getTime() + waitSeconds * 1000
}

/**
 * Decides a continuation, or throws the refusal with Rafiki's status and code:
 * - with `interact_ref` (§5.1): a reference of another grant, or of a rejected one, is unknown
 *   (404); within `wait`, too fast (400); a grant already issued has spent its reference (401);
 *   a grant not yet approved cannot be continued (401);
 * - a poll (§5.2): within `wait`, too fast (400); a grant with a finish method is continued with
 *   its reference, never polled (401); a grant still waiting for its account holder is pending;
 *   anything but an approved grant cannot be continued (401).
 */
export function decideContinuation(
  grant: ContinuableGrant,
  request: ContinuationRequest,
  now: Date,
  waitSeconds: number
): ContinuationDecision {
  const early = isTooFast(grant, now, waitSeconds)
  if (request.kind === 'interact_ref') {
    if (!request.found || grant.finalizationReason === 'REJECTED') {
      // Rafiki's answer to an unknown reference: 404.
      throw invalidContinuation('grant not found', 404)
    }
    if (early) throw tooFast('continued grant faster than "wait" period')
    if (grant.state === 'FINALIZED' && grant.finalizationReason === 'ISSUED') {
      // A retried or concurrent continuation that lost: the status and code are Rafiki's
      // (request_denied), the description says what happened.
      throw requestDenied('grant already continued: token issued')
    }
    if (grant.state !== 'APPROVED') {
      throw requestDenied('grant interaction not approved')
    }
    return 'issue'
  }
  if (early) throw tooFast('polled grant faster than "wait" period')
  if (grant.finishMethod) throw requestDenied('grant cannot be polled')
  if (grant.state === 'PENDING' || grant.state === 'PROCESSING') return 'pending'
  if (grant.state !== 'APPROVED') {
    throw requestDenied('grant cannot be continued')
  }
  return 'issue'
}

/**
 * Whether a poll of `grant` now is answered "still pending" (and recorded). grant-store's
 * `recordPendingPoll` decides the same in one statement, for speed; a property test holds the
 * two equal.
 */
export function isPendingPoll(grant: ContinuableGrant, now: Date, waitSeconds: number): boolean {
  try {
    return decideContinuation(grant, { kind: 'poll' }, now, waitSeconds) === 'pending'
  } catch (err) {
    if (err instanceof GnapError) return false
    throw err
  }
}
