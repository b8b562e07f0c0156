import {
  GnapError,
  internalError,
  invalidInteraction,
  invalidRequest,
  unknownInteraction,
  userDenied
} from '../gnap/gnap-error.js'
import { secretMatchesHash } from '../gnap/secrets.js'
import { toAccessWire, type AccessItem } from '../gnap/access.js'
import { isUuid } from '../gnap/wire.js'
import type { AccessRow } from '../access/access-store.js'
import type { Db, Queryable } from '../storage/db.js'
import type { EventOrigin } from '../audit/events.js'
import type { EventService } from '../audit/event-service.js'
import { computeInteractHash } from './finish-hash.js'
import { answeredState, finishStep, startRefusal } from './interaction-lifecycle.js'
import {
  decideInteraction,
  findInteraction,
  findInteractionByRef,
  recordFinish,
  type InteractionView
} from './interaction-store.js'

export type { InteractionView } from './interaction-store.js'

/**
 * What an interaction needs of its grant, from the grant domain (wired by the composition root:
 * the grant domain builds on interactions, not the other way round).
 */
export interface GrantSide {
  /** Moves the grant with the account holder's decision; false when it could no longer move. */
  recordDecision(q: Queryable, grantId: string, decision: 'approve' | 'reject'): Promise<boolean>
  /** The grant's access items and subjects, in request order. */
  contents(
    grantId: string
  ): Promise<{ access: AccessRow[]; subIds: { id: string; format: string }[] }>
}

/** The grant an account holder's decision moved, for the caller's log line. */
export interface DecidedGrant {
  decision: 'approved' | 'rejected'
  grantId: string
  tenantId: string
  client: string | null
}

/** What the browser is told to do next. */
export type InteractionOutcome =
  | { kind: 'redirect'; location: string; endSession: boolean }
  // 202: the grant has no finish URI; the client polls
  | { kind: 'accepted' }
  /**
   * The link cannot go on (used, over, expired): `message` says why, in Rafiki's words;
   * `location` is where Rafiki sends the browser back to the client, when the grant has a
   * finish URI.
   */
  | { kind: 'refused'; message: string; location?: string }

export interface IdpGrantDetails {
  grantId: string
  access: AccessItem[]
  subject?: { sub_ids: { id: string; format: string }[] }
  state: InteractionView['state']
  /** Added to Rafiki's shape: who is asking, from the client's own wallet address document. */
  client: { walletAddress: string | null; name: string | null }
}

function finishRedirect(interaction: InteractionView, params: Record<string, string>): string {
  const url = new URL(interaction.finishUri as string)
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)
  return url.href
}

export function createInteractionService(deps: {
  db: Db
  grants: GrantSide
  /** The account holder's answers go into the audit trail with the answer. */
  events: Pick<EventService, 'record'>
  /**
   * The built-in consent screen's URL for an interaction, when CONSENT_SCREEN=builtin: where a
   * tenant without an identity provider sends the browser.
   */
  builtinConsentUrl?: (id: string, nonce: string) => string
}) {
  const { db } = deps

  /** The interaction with this id and nonce, in whatever state (undefined if unknown). */
  async function find(id: string, nonce: string): Promise<InteractionView | undefined> {
    return isUuid(id) ? findInteraction(db, id, nonce) : undefined
  }

  async function load(
    id: string,
    nonce: string,
    statusIfUnknown: number
  ): Promise<InteractionView> {
    const interaction = await find(id, nonce)
    if (!interaction || interaction.finalizationReason === 'REVOKED')
      throw unknownInteraction('unknown interaction', statusIfUnknown)
    return interaction
  }

  /**
   * GET /interact/{id}/{nonce}: sends the browser to the tenant's IdP (RFC 9635 §4.1.1), or to
   * the built-in consent screen when the tenant has none. The client's name and URI come from
   * the stored grant, never from the query string.
   */
  async function start(id: string, nonce: string): Promise<InteractionOutcome> {
    // Not `load`: a cancelled grant's interaction is known here, and the browser is sent back to
    // the client as invalid below (FINALIZED), as Rafiki does (behaviour §2.1 start).
    const interaction = await find(id, nonce)
    // Rafiki answers an unknown interaction at the start with 400.
    if (!interaction) throw unknownInteraction('unknown interaction', 400)
    const finishable = interaction.finishMethod === 'redirect' && interaction.finishUri !== null
    const message = startRefusal(interaction)
    if (message !== undefined) {
      if (!finishable) return { kind: 'refused', message }
      const location = finishRedirect(interaction, { result: 'invalid_interaction', message })
      return { kind: 'refused', message, location }
    }
    if (!interaction.idpConsentUrl && deps.builtinConsentUrl) {
      const location = deps.builtinConsentUrl(interaction.id, interaction.nonce)
      return { kind: 'redirect', location, endSession: false }
    }
    if (!interaction.idpConsentUrl) {
      if (!finishable) throw internalError()
      const params = { result: 'request_denied', message: 'internal server error' }
      return { kind: 'redirect', location: finishRedirect(interaction, params), endSession: true }
    }
    const idp = new URL(interaction.idpConsentUrl)
    idp.searchParams.set('interactId', interaction.id)
    idp.searchParams.set('nonce', interaction.nonce)
    idp.searchParams.set('clientName', interaction.clientName ?? '')
    idp.searchParams.set('clientUri', interaction.client ?? '')
    return { kind: 'redirect', location: idp.href, endSession: false }
  }

  /**
   * Authenticates the IdP for one interaction: the interaction must exist and the caller must
   * present its tenant's `x-idp-secret` (compared in constant time, whatever its length).
   * Rafiki answers a bad secret with `invalid_request` on details and `invalid_interaction` on
   * the choice; both are kept.
   */
  async function authenticateIdp(
    id: string,
    nonce: string,
    secret: string | undefined,
    badSecretCode: 'invalid_request' | 'invalid_interaction'
  ): Promise<InteractionView> {
    const interaction = await load(id, nonce, 404)
    if (!secretMatchesHash(secret, interaction.idpSecretHash)) {
      throw new GnapError(401, badSecretCode, 'invalid x-idp-secret')
    }
    return interaction
  }

  /** GET /grant/{id}/{nonce} on the IdP back channel: what the consent screen shows. */
  async function details(interaction: InteractionView): Promise<IdpGrantDetails> {
    const contents = await deps.grants.contents(interaction.grantId)
    const result: IdpGrantDetails = {
      grantId: interaction.grantId,
      access: contents.access.map(toAccessWire),
      state: interaction.state,
      client: { walletAddress: interaction.client, name: interaction.clientName }
    }
    if (contents.subIds.length > 0) result.subject = { sub_ids: contents.subIds }
    return result
  }

  /**
   * POST /grant/{id}/{nonce}/accept|reject: records the account holder's decision and moves the
   * grant with it, atomically. Approving here (not at the browser's finish) lets polling clients
   * get their token even if the browser never returns (Rafiki weakness §12.25).
   */
  /**
   * The account holder's answer, through the IdP or the built-in consent screen: the
   * interaction and its grant move together, with the audit event, in one transaction.
   */
  async function decide(
    interaction: InteractionView,
    choice: string,
    from: EventOrigin
  ): Promise<DecidedGrant> {
    if (choice !== 'accept' && choice !== 'reject') {
      throw invalidRequest('invalid interaction choice')
    }
    if (interaction.finalizationReason === 'REJECTED') {
      throw userDenied('user denied interaction')
    }
    const refused = Symbol('refused')
    const decided = await db
      .transaction(async (tx) => {
        const state = answeredState[choice]
        // Both rows move together or neither does: a grant cancelled meanwhile rolls the
        // interaction's decision back too.
        if (!(await decideInteraction(tx, interaction.id, state))) throw refused
        const decision = choice === 'accept' ? 'approve' : 'reject'
        if (!(await deps.grants.recordDecision(tx, interaction.grantId, decision))) throw refused
        await deps.events.record(tx, {
          ...from,
          type: choice === 'accept' ? 'grant.approved' : 'grant.rejected',
          tenantId: interaction.tenantId,
          grantId: interaction.grantId,
          client: interaction.client
        })
        return true
      })
      .catch((err: unknown) => {
        if (err === refused) return false
        throw err
      })
    if (!decided) {
      // A decision that lost a race to a reject answers as one made after it would, not by
      // whether it happened to read the grant before the reject committed.
      const current = await findInteraction(db, interaction.id, interaction.nonce)
      if (current?.finalizationReason === 'REJECTED') {
        throw userDenied('user denied interaction')
      }
      throw invalidInteraction('invalid interaction')
    }
    return {
      decision: choice === 'accept' ? 'approved' : 'rejected',
      grantId: interaction.grantId,
      tenantId: interaction.tenantId,
      client: interaction.client
    }
  }

  /**
   * GET /interact/{id}/{nonce}/finish: returns the browser to the client with the finish hash
   * and `interact_ref` (RFC 9635 §4.2.1, §4.2.3), or answers 202 when the client polls. Only
   * the browser that started the interaction may finish it, and only once: the session ends.
   */
  async function finish(
    id: string,
    nonce: string,
    sessionMatches: boolean,
    /** The browser's request: the account holder returning to the client, for the trail. */
    from: Omit<EventOrigin, 'actor'>
  ): Promise<InteractionOutcome> {
    const interaction = await find(id, nonce)
    if (!interaction) throw unknownInteraction('unknown interaction')
    const finishable = interaction.finishMethod === 'redirect' && interaction.finishUri !== null
    const step = finishStep(interaction, sessionMatches)
    if (step.kind === 'failed') {
      const { result, message, status, code } = step
      if (!finishable) throw new GnapError(status, code, message)
      return {
        kind: 'redirect',
        location: finishRedirect(interaction, { result, message }),
        endSession: true
      }
    }
    // Rafiki's status for a finish without the interaction's session.
    if (step.kind === 'foreign-session') throw invalidRequest('invalid session', 401)
    if (step.kind === 'undecided') {
      // Rafiki's status for a finish before the IdP decided.
      if (!finishable) throw invalidInteraction('interaction is not active', 401)
      return {
        kind: 'redirect',
        location: finishRedirect(interaction, { result: 'grant_invalid' }),
        endSession: false
      }
    }
    // The decision reaches the client now: its browser is sent back with the result, or, for a
    // client that polls (no finish URI, RFC 9635 §4.2), told to go back to it (202) while the
    // client learns the result by continuing (§5.2). Both end the interaction's front channel,
    // so both are its finish for operators; only the first one is recorded.
    await recordFinish(db, interaction, {
      ...from,
      type: 'grant.finished',
      actor: { kind: 'account-holder' },
      client: interaction.client,
      details: { decision: step.kind, returnedBy: finishable ? 'redirect' : 'polling' }
    })
    if (!finishable) return { kind: 'accepted' }
    if (step.kind === 'rejected') {
      return {
        kind: 'redirect',
        location: finishRedirect(interaction, { result: 'grant_rejected' }),
        endSession: true
      }
    }
    const hash = computeInteractHash({
      clientNonce: interaction.clientNonce ?? '',
      interactNonce: interaction.nonce,
      interactRef: interaction.ref,
      grantUri: interaction.grantUri
    })
    return {
      kind: 'redirect',
      location: finishRedirect(interaction, { hash, interact_ref: interaction.ref }),
      endSession: true
    }
  }

  return {
    start,
    authenticateIdp,
    details,
    decide,
    finish,
    find,
    /** Whether `ref` is the reference of one of the grant's interactions (RFC 9635 §5.1). */
    async refBelongsTo(q: Queryable, ref: string, grantId: string): Promise<boolean> {
      return isUuid(ref) && (await findInteractionByRef(q, ref, grantId)) !== undefined
    }
  }
}

export type InteractionService = ReturnType<typeof createInteractionService>
