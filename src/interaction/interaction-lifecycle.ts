import type { GnapErrorCode } from '../gnap/gnap-error.js'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'

/**
 * An interaction's lifecycle (RFC 9635 §4), pure: PENDING until the account holder answers
 * (APPROVED or DENIED), within its lifetime; its grant may end meanwhile (revoked by the client,
 * or finalised). Each flow that reads an interaction (the start, the finish, the built-in
 * consent screen) reads it here; the services load, ask, and act.
 */

export const interactionStates = ['PENDING', 'APPROVED', 'DENIED'] as const
export type InteractionState = (typeof interactionStates)[number]

/** What the flows read of an interaction and its grant. */
export interface InteractionFacts {
  state: InteractionState
  /** Past its lifetime (judged by the database clock: see {@link isInteractionExpired}). */
  expired: boolean
  grantState: GrantState
  finalizationReason: FinalizationReason | null
}

/** The state an account holder's answer moves a pending interaction to. */
export const answeredState = { accept: 'APPROVED', reject: 'DENIED' } as const

/**
 * An interaction lives `expiresIn` seconds from its creation, that moment included.
 * interaction-store decides the same in SQL, for speed; a property test holds the two equal.
 */
export function isInteractionExpired(
  createdAt: Date,
  expiresInSeconds: number,
  now: Date
): boolean {
  return createdAt.getTime() + expiresInSeconds * 1000 < now.getTime()
}

/**
 * GET /interact/{id}/{nonce} (§4.1.1): undefined while the account holder may still be asked;
 * otherwise the message the browser is sent back to the client with (answered, expired, or its
 * grant ended).
 */
export function startRefusal(i: InteractionFacts): string | undefined {
  if (i.state === 'PENDING' && !i.expired && i.grantState !== 'FINALIZED') return undefined
  return i.expired ? 'interaction expired' : 'invalid interaction'
}

/** What the browser coming back to the AS's finish URL gets (§4.2), before any effect. */
export type FinishStep =
  /** Sent back to the client with `result` and `message`; refused so when it has no finish URI. */
  | { kind: 'failed'; result: string; message: string; status: number; code: GnapErrorCode }
  /** Not the browser that started the interaction. */
  | { kind: 'foreign-session' }
  /** Still waiting for the account holder. */
  | { kind: 'undecided' }
  | { kind: 'rejected' }
  | { kind: 'approved' }

/**
 * The finish, in Rafiki's order: an expired pending interaction fails first (whoever asks), then
 * only its own browser goes on; a revoked grant's interaction is unknown; an undecided one is
 * not finished yet; a decided one finishes with its answer.
 */
export function finishStep(i: InteractionFacts, sessionMatches: boolean): FinishStep {
  if (i.state === 'PENDING' && i.expired) {
    const message = 'interaction expired'
    return {
      kind: 'failed',
      result: 'invalid_interaction',
      message,
      status: 401,
      code: 'invalid_interaction'
    }
  }
  if (!sessionMatches) return { kind: 'foreign-session' }
  if (i.finalizationReason === 'REVOKED') {
    const message = 'unknown interaction'
    return {
      kind: 'failed',
      result: 'unknown_interaction',
      message,
      status: 404,
      code: 'unknown_interaction'
    }
  }
  if (i.state === 'PENDING') return { kind: 'undecided' }
  return { kind: i.state === 'DENIED' ? 'rejected' : 'approved' }
}

/** Where an interaction stands for the built-in consent screen, once it is no longer open. */
export type SettledStatus = 'closed' | 'accepted' | 'declined' | 'expired'

/**
 * Undefined while the screen may ask; otherwise why not: its grant was revoked or ended
 * (closed), it was answered (and how), or it expired.
 */
export function settledStatus(i: InteractionFacts): SettledStatus | undefined {
  if (i.finalizationReason === 'REVOKED') return 'closed'
  if (i.state !== 'PENDING') return i.state === 'APPROVED' ? 'accepted' : 'declined'
  if (i.expired) return 'expired'
  if (i.grantState === 'FINALIZED') return 'closed'
  return undefined
}
