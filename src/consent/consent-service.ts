import { createHmac } from 'node:crypto'
import { toAccessWire } from '../gnap/access.js'
import { GnapError } from '../gnap/gnap-error.js'
import { bytesEqual } from '../gnap/secrets.js'
import type { GrantService } from '../grant/grant-service.js'
import type { InteractionService } from '../interaction/interaction-service.js'
import { settledStatus } from '../interaction/interaction-lifecycle.js'
import type { DecidedGrant, InteractionView } from '../interaction/interaction-service.js'
import { describeAccess, type AccessDescription } from './describe-access.js'
import type { EventOrigin } from '../audit/events.js'

/**
 * The built-in consent screen's decisions (CONSENT_SCREEN=builtin): what an interaction asks,
 * and the account holder's answer, recorded exactly as the IdP back channel records it
 * (interaction-service `decide`: one transaction, first decision wins).
 */

/** Where an interaction stands, as the consent screen tells it. */
export type ConsentState =
  | { kind: 'unknown' }
  | { kind: 'expired' }
  /** `decided`: set when this very request recorded the answer (not a repeat of it). */
  | { kind: 'answered'; accepted: boolean; decided?: DecidedGrant }
  | { kind: 'closed' }
  | {
      kind: 'pending'
      clientName: string
      clientWalletAddress: string
      access: AccessDescription[]
    }

export type ConsentChoice = 'accept' | 'decline'

const UNKNOWN: ConsentState = { kind: 'unknown' }

/** Where an interaction stands when it is no longer open to an answer; undefined while it is. */
function settledState(interaction: InteractionView): ConsentState | undefined {
  const status = settledStatus(interaction)
  if (status === 'accepted' || status === 'declined') {
    return { kind: 'answered', accepted: status === 'accepted' }
  }
  return status === undefined ? undefined : { kind: status }
}

export function createConsentService(deps: {
  grants: Pick<GrantService, 'contents'>
  interactions: Pick<InteractionService, 'decide' | 'find'>
  /** Signs the anti-forgery token (the interaction cookie's key). */
  cookieKey: string
}) {
  const { grants, interactions } = deps

  /**
   * The interaction, if the screen may ask about it. A tenant with its own IdP decides there,
   * after its login: the built-in screen must not offer a way around it, so its interactions
   * are unknown here.
   */
  async function load(id: string, nonce: string): Promise<InteractionView | undefined> {
    const interaction = await interactions.find(id, nonce)
    return interaction?.idpConsentUrl === null ? interaction : undefined
  }

  /**
   * The form's anti-forgery token: an HMAC of the interaction under the server's cookie key.
   * A page of another site cannot compute it, so it cannot make the browser answer (the
   * session cookie alone would ride along a cross-site POST when SameSite=None).
   */
  function csrfToken(id: string, nonce: string): string {
    return createHmac('sha256', deps.cookieKey)
      .update(`opas consent\n${id}\n${nonce}`)
      .digest('base64url')
  }

  return {
    csrfToken,

    csrfMatches(id: string, nonce: string, presented: unknown): boolean {
      if (typeof presented !== 'string') return false
      return bytesEqual(Buffer.from(presented), Buffer.from(csrfToken(id, nonce)))
    },

    /** What the screen shows: the question while it is open, else why it is not. */
    async show(id: string, nonce: string): Promise<ConsentState> {
      const interaction = await load(id, nonce)
      if (!interaction) return UNKNOWN
      const settled = settledState(interaction)
      if (settled) return settled
      const contents = await grants.contents(interaction.grantId)
      return {
        kind: 'pending',
        // Interactive grants are refused unless the client's wallet address document, fetched
        // and checked by opas, names it (grant-service); never taken from the URL.
        clientName: interaction.clientName ?? interaction.client ?? 'An unnamed app',
        clientWalletAddress: interaction.client ?? '',
        access: contents.access.map((row) => describeAccess(toAccessWire(row)))
      }
    },

    /**
     * Records the answer, or says where the interaction stands when it was already answered:
     * the caller compares that answer with its own (a double click or a resent form finds its
     * own answer, which is the same success; any other answer after the first is refused).
     */
    async choose(
      id: string,
      nonce: string,
      choice: ConsentChoice,
      from: Omit<EventOrigin, 'actor'>
    ): Promise<ConsentState> {
      const interaction = await load(id, nonce)
      if (!interaction) return UNKNOWN
      const settled = settledState(interaction)
      if (settled) return settled
      try {
        // On opas's own screen, the one answering is the account holder (the IdP is not asked).
        const decided = await deps.interactions.decide(
          interaction,
          choice === 'accept' ? 'accept' : 'reject',
          { ...from, actor: { kind: 'account-holder' } }
        )
        return { kind: 'answered', accepted: choice === 'accept', decided }
      } catch (err) {
        if (!(err instanceof GnapError)) throw err
        // Lost a race to another tab or click: report what was recorded instead.
        const now = await load(id, nonce)
        return now ? (settledState(now) ?? { kind: 'closed' }) : UNKNOWN
      }
    }
  }
}

export type ConsentService = ReturnType<typeof createConsentService>
