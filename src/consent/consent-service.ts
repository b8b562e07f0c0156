import { createHmac } from 'node:crypto'
import { toAccessWire } from '../gnap/access.js'
import { GnapError } from '../gnap/gnap-error.js'
import { bytesEqual } from '../gnap/secrets.js'
import { isUuid } from '../gnap/wire.js'
import { findGrantContents } from '../grant/grant-store.js'
import type { InteractionService } from '../interaction/interaction-service.js'
import { findInteraction, type InteractionView } from '../interaction/interaction-store.js'
import type { Db } from '../storage/db.js'
import { describeAccess, type AccessDescription } from './describe-access.js'

/**
 * The built-in consent screen's decisions (CONSENT_SCREEN=builtin): what an interaction asks,
 * and the account holder's answer, recorded exactly as the IdP back channel records it
 * (interaction-service `decide`: one transaction, first decision wins).
 */

/** Where an interaction stands, as the consent screen tells it. */
export type ConsentState =
  | { kind: 'unknown' }
  | { kind: 'expired' }
  | { kind: 'answered'; accepted: boolean }
  | { kind: 'closed' }
  | {
      kind: 'pending'
      clientName: string
      clientWalletAddress: string
      access: AccessDescription[]
    }

export type ConsentChoice = 'accept' | 'decline'

function stateOf(interaction: InteractionView | undefined): ConsentState | undefined {
  // A tenant with its own IdP decides there, after its login: the built-in screen must not
  // offer a way around it, so its interactions are unknown here.
  if (!interaction || interaction.idpConsentUrl !== null) return { kind: 'unknown' }
  if (interaction.finalizationReason === 'REVOKED') return { kind: 'closed' }
  if (interaction.state !== 'PENDING') {
    return { kind: 'answered', accepted: interaction.state === 'APPROVED' }
  }
  if (interaction.expired) return { kind: 'expired' }
  if (interaction.grantState === 'FINALIZED') return { kind: 'closed' }
  return undefined
}

export function createConsentService(deps: {
  db: Db
  interactions: Pick<InteractionService, 'decide'>
  /** Signs the anti-forgery token (the interaction cookie's key). */
  cookieKey: string
}) {
  const { db } = deps
  const load = (id: string, nonce: string) =>
    isUuid(id) ? findInteraction(db, id, nonce) : Promise.resolve(undefined)

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
      const settled = stateOf(interaction)
      if (settled || !interaction) return settled ?? { kind: 'unknown' }
      const contents = await findGrantContents(db, interaction.grantId)
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
     * Records the answer. A repeat of the answer already recorded (a double click, a resent
     * form) is the same success; any other answer after the first is refused.
     */
    async choose(id: string, nonce: string, choice: ConsentChoice): Promise<ConsentState> {
      const interaction = await load(id, nonce)
      const settled = stateOf(interaction)
      if (settled || !interaction) {
        const repeat = settled?.kind === 'answered' && settled.accepted === (choice === 'accept')
        return repeat
          ? { kind: 'answered', accepted: choice === 'accept' }
          : (settled ?? { kind: 'unknown' })
      }
      try {
        await deps.interactions.decide(interaction, choice === 'accept' ? 'accept' : 'reject')
        return { kind: 'answered', accepted: choice === 'accept' }
      } catch (err) {
        if (!(err instanceof GnapError)) throw err
        // Lost a race to another tab or click: report what was recorded instead.
        return stateOf(await load(id, nonce)) ?? { kind: 'closed' }
      }
    }
  }
}

export type ConsentService = ReturnType<typeof createConsentService>
