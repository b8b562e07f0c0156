import type { ClientKeys, PublicJwk } from '../client-keys/index.js'
import { toAccessWire } from '../gnap/access.js'
import { storedClient, type ClientIdentity } from '../gnap/client-identity.js'
import { clientAsActor, type EventOrigin } from '../audit/events.js'
import type { EventService } from '../audit/event-service.js'
import {
  invalidClient,
  invalidContinuation,
  invalidRequest,
  requestDenied
} from '../gnap/gnap-error.js'
import type { GrantRequest } from '../gnap/request-schemas.js'
import { bytesEqual } from '../gnap/secrets.js'
import {
  accessTokenWire,
  continueWire,
  isUuid,
  type AccessTokenWire,
  type ContinueWire
} from '../gnap/wire.js'
import { replayed, type Replay, type Replayed } from '../replay/replay-guard.js'
import type { Db, Queryable } from '../storage/db.js'
import type { Tenant } from '../tenant/tenant-directory.js'
import type { InteractionService } from '../interaction/interaction-service.js'
import { interactionUrl } from '../interaction/interaction-url.js'
import type { IssuedToken, TokenService } from '../token/token-service.js'
import { generateTokenValue, hashToken } from '../token/token-value.js'
import {
  decideContinuation,
  grantTransitions,
  type ContinuationRequest
} from './grant-lifecycle.js'
import { assessGrantRequest, type InteractionPolicy } from './grant-model.js'
import {
  findGrantByContinueId,
  findGrantContents,
  insertGrant,
  lockGrant,
  recordPendingPoll,
  revokeGrant,
  touchGrantContinuation,
  transitionGrant,
  type GrantRow
} from './grant-store.js'

export interface GrantServiceDeps {
  db: Db
  clientKeys: ClientKeys
  config: InteractionPolicy & {
    authServerUrl: string
    waitSeconds: number
    interactionExpirySeconds: number
    /** `builtin`: tenants without an IdP ask the account holder on opas's own screen. */
    consentScreen: 'builtin' | 'off'
  }
  randomBytes: (size: number) => Buffer
  /** Unguessable UUIDs (v4), for the interaction ref (RFC 9635 §4.2.3). */
  randomUUID: () => string
  /** Time-ordered UUIDs (v7) for row ids, index-friendly (migration 002). */
  newId: () => string
  /** The token domain mints and stores the access tokens a grant issues. */
  tokens: Pick<TokenService, 'newToken' | 'insert' | 'remember'>
  /** A grant's changes go into the audit trail, in their own transactions. */
  events: Pick<EventService, 'record'>
  /** The interaction domain knows which interaction references belong to a grant. */
  interactions: Pick<InteractionService, 'refBelongsTo'>
}

export type GrantResponse =
  | { access_token: AccessTokenWire; continue: ContinueWire }
  | { interact: { redirect: string; finish: string }; continue: ContinueWire }

/** A grant's continuation, authenticated by its token: what the continuation routes act on. */
export interface Continuation {
  continueId: string
  continueToken: string
  grantId: string
  tenantId: string
  /** The grant's client: the continuation request must be signed by it. */
  client: ClientIdentity
}

export interface ContinueResponse {
  access_token?: AccessTokenWire
  continue: ContinueWire
  subject?: { sub_ids: { id: string; format: string }[] }
}

export function createGrantService(deps: GrantServiceDeps) {
  const { db, config, randomUUID, newId } = deps

  /**
   * RFC 9635 §2 / §3: a grant request. Non-interactive grants are issued and finalised at once
   * (Rafiki left them APPROVED, so a later poll minted a second token); interactive ones start an
   * interaction at the tenant's IdP. The request's signature was verified before this call, by
   * the client `request.client` names; `replayed` when the grant's statement found the
   * signature recorded already (then nothing was written).
   */
  async function requestGrant(input: {
    tenant: Tenant
    /** The client whose signature the edge verified (its `client` field, read once). */
    client: ClientIdentity
    /** The key that signed the request of a wallet-address client: the tokens' bound key. */
    clientKey: PublicJwk | null
    grantUri: string
    request: GrantRequest
    /** How the request is kept from being replayed: its signature may be recorded with the grant. */
    replay: Replay
    /** The request, for the audit trail (its client is the actor). */
    from: Omit<EventOrigin, 'actor'>
  }): Promise<{ grantId: string; response: GrantResponse } | Replayed> {
    const { tenant, client, grantUri, request } = input
    const { interactive, access } = assessGrantRequest(request, config)
    // The grant's event is written by the statement that writes the grant (§1.5): requested,
    // or issued when no interaction is needed (one change, one event: a grant issued at once
    // was never a request waiting for anything). What was asked is kept in the trail, which
    // outlives the grant's own rows; the limits stay with the grant.
    const event = (type: 'grant.requested' | 'grant.issued') => ({
      ...input.from,
      type,
      ...clientAsActor(client),
      details: {
        access: access.map(({ type, actions, identifier }) => ({ type, actions, identifier }))
      }
    })
    const continueToken = generateTokenValue(deps.randomBytes)
    const base = {
      id: newId(),
      tenantId: tenant.id,
      startMethod: request.interact?.start ?? null,
      continueId: newId(),
      continueTokenHash: hashToken(continueToken),
      finishMethod: request.interact?.finish?.method ?? null,
      finishUri: request.interact?.finish?.uri ?? null,
      clientNonce: request.interact?.finish?.nonce ?? null,
      grantUri,
      client: client.kind === 'walletAddress' ? client.walletAddress : null,
      jwk: client.kind === 'jwk' ? client.jwk : null,
      clientKey: input.clientKey,
      accessTokenLabel: request.access_token?.label ?? null,
      access,
      subIds: request.subject?.sub_ids ?? []
    }

    if (!interactive) {
      const token = deps.tokens.newToken()
      const inserted = await insertGrant(
        db,
        {
          ...base,
          state: 'FINALIZED',
          finalizationReason: 'ISSUED',
          clientName: null,
          token,
          interaction: null
        },
        input.replay,
        event('grant.issued')
      )
      if (!inserted) return replayed
      deps.tokens.remember({
        managementId: token.managementId,
        valueHash: token.valueHash,
        grantId: base.id,
        tenantId: tenant.id,
        // Already in its one spelling (clientIdentityOf), as stored.
        client
      })
      const response = {
        access_token: accessTokenWire(config.authServerUrl, token, access, base.accessTokenLabel),
        continue: continueWire(config.authServerUrl, base.continueId, continueToken)
      }
      return { grantId: base.id, response }
    }

    if (!request.interact) {
      throw invalidRequest("missing required request field 'interact'")
    }
    // Someone must ask the account holder: the tenant's IdP, or the built-in screen.
    const askedByIdp = tenant.idpConsentUrl !== null && tenant.idpSecretHash !== null
    const askedHere = tenant.idpConsentUrl === null && config.consentScreen === 'builtin'
    if (!askedByIdp && !askedHere) {
      throw invalidRequest('invalid tenant')
    }
    // Rafiki answers both client problems of an interactive grant with 400.
    if (client.kind === 'jwk') {
      throw invalidClient('JWK client identifier cannot be used for interactive grants', 400)
    }
    // The consent screen names the client from its own wallet address document, never from the
    // browser's query string (Rafiki weakness §12.7).
    const document = await deps.clientKeys
      .getWalletAddress(client.walletAddress)
      .catch(() => undefined)
    if (!document?.publicName) {
      throw invalidClient("missing required request field 'client'", 400)
    }
    const interaction = {
      id: newId(),
      ref: randomUUID(),
      nonce: deps.randomBytes(16).toString('hex').toUpperCase(),
      expiresIn: config.interactionExpirySeconds
    }
    const inserted = await insertGrant(
      db,
      {
        ...base,
        state: 'PENDING',
        finalizationReason: null,
        clientName: document.publicName,
        token: null,
        interaction
      },
      input.replay,
      event('grant.requested')
    )
    if (!inserted) return replayed
    const redirect = new URL(
      interactionUrl(config.authServerUrl, interaction.id, interaction.nonce)
    )
    // Kept for clients that read them; the interaction start ignores them (see above).
    redirect.searchParams.set('clientName', document.publicName)
    redirect.searchParams.set('clientUri', client.walletAddress)
    const response = {
      interact: { redirect: redirect.href, finish: interaction.nonce },
      continue: continueWire(
        config.authServerUrl,
        base.continueId,
        continueToken,
        config.waitSeconds
      )
    }
    return { grantId: base.id, response }
  }

  /**
   * Issues the grant's token and finalises it, once: the grant row is locked by the caller.
   * The continuation that did it and the issue are the trail's `grant.continued` and
   * `grant.issued`, written in the same transaction.
   */
  async function issue(
    tx: Queryable,
    grant: GrantRow,
    continuation: Continuation,
    how: { by: ContinuationRequest['kind']; from: Omit<EventOrigin, 'actor'> }
  ): Promise<{ response: ContinueResponse; issued?: IssuedToken }> {
    const { continueToken } = continuation
    const { from, to } = grantTransitions.issue
    if (!(await transitionGrant(tx, grant.id, from, to))) {
      throw requestDenied('grant cannot be continued')
    }
    const contents = await findGrantContents(tx, grant.id)
    const response: ContinueResponse = {
      continue: continueWire(config.authServerUrl, grant.continueId, continueToken)
    }
    let issued: IssuedToken | undefined
    // A subject-only grant gets no token (Rafiki inserted one nobody could see).
    if (contents.access.length > 0) {
      const token = deps.tokens.newToken()
      await deps.tokens.insert(tx, grant.id, token)
      const { managementId, valueHash } = token
      const { tenantId } = grant
      issued = { managementId, valueHash, grantId: grant.id, tenantId, client: continuation.client }
      response.access_token = accessTokenWire(
        config.authServerUrl,
        token,
        contents.access.map(toAccessWire),
        grant.accessTokenLabel
      )
    }
    if (contents.subIds.length > 0) response.subject = { sub_ids: contents.subIds }
    await deps.events.record(tx, {
      ...how.from,
      type: ['grant.continued', 'grant.issued'],
      tenantId: grant.tenantId,
      grantId: grant.id,
      ...clientAsActor(continuation.client),
      details: { continuation: how.by, token: response.access_token !== undefined }
    })
    return { response, issued }
  }

  /**
   * RFC 9635 §5.1 (continue after interaction, with `interact_ref`) and §5.2 (polling).
   * One transaction with the grant row locked: of any number of concurrent continuations of an
   * approved grant exactly one gets the token.
   */
  async function continueGrant(
    continuation: Continuation,
    interactRef: string | undefined,
    from: Omit<EventOrigin, 'actor'>
  ): Promise<ContinueResponse> {
    const { continueId, continueToken } = continuation
    const pending = () =>
      continueWire(config.authServerUrl, continueId, continueToken, config.waitSeconds)
    // The common poll, a grant still waiting for its account holder, costs one statement (the
    // same rule as grant-lifecycle's isPendingPoll; a property test holds the two equal).
    if (
      interactRef === undefined &&
      (await recordPendingPoll(db, continueId, config.waitSeconds))
    ) {
      return { continue: pending() }
    }
    const { response, issued } = await db.transaction(async (tx) => {
      const grant = await findGrantByContinueId(tx, continueId, { forUpdate: true })
      if (!grant) throw invalidContinuation('invalid grant')
      const request: ContinuationRequest =
        interactRef === undefined
          ? { kind: 'poll' }
          : {
              kind: 'interact_ref',
              found: await deps.interactions.refBelongsTo(tx, interactRef, grant.id)
            }
      if (decideContinuation(grant, request, grant.dbNow, config.waitSeconds) === 'pending') {
        await touchGrantContinuation(tx, grant.id)
        return { response: { continue: pending() } }
      }
      return issue(tx, grant, continuation, { by: request.kind, from })
    })
    // Its token is known to token management once the transaction has committed.
    if (issued) deps.tokens.remember(issued)
    return response
  }

  /**
   * RFC 9635 §5: the grant being continued, found by its continuation id and authenticated by
   * its continuation token (compared by hash). The caller then checks the request is signed by
   * the grant's client (§7.3).
   */
  async function findContinuation(continueId: string, token: string): Promise<Continuation> {
    const grant = isUuid(continueId)
      ? await findGrantByContinueId(db, continueId, { forUpdate: false })
      : undefined
    if (!grant || !bytesEqual(grant.continueTokenHash, hashToken(token))) {
      throw invalidContinuation('invalid grant')
    }
    return {
      continueId,
      continueToken: token,
      grantId: grant.id,
      tenantId: grant.tenantId,
      client: storedClient(grant)
    }
  }

  /**
   * RFC 9635 §5.4: the client cancels the grant; it and all its tokens are revoked at once, with
   * the audit event (the client its actor), in one transaction.
   */
  async function cancelGrant(
    { grantId, tenantId, client }: Continuation,
    from: Omit<EventOrigin, 'actor'>
  ): Promise<void> {
    const revoked = await db.transaction(async (tx) => {
      await lockGrant(tx, grantId)
      const done = await revokeGrant(tx, grantId)
      if (done) {
        await deps.events.record(tx, {
          ...from,
          type: 'grant.revoked',
          tenantId,
          grantId,
          ...clientAsActor(client)
        })
      }
      return done
    })
    if (!revoked) {
      throw invalidContinuation('invalid grant')
    }
  }

  return {
    requestGrant,
    findContinuation,
    continueGrant,
    cancelGrant,
    /**
     * The account holder's decision moves the grant (RFC 9635 §4), in the interaction domain's
     * transaction; false when the grant was no longer pending (cancelled, or decided).
     */
    recordDecision(q: Queryable, grantId: string, decision: 'approve' | 'reject') {
      const { from, to } = grantTransitions[decision]
      return transitionGrant(q, grantId, from, to)
    },
    /** A grant's access items and subjects, in request order (the consent screens show them). */
    contents: (grantId: string) => findGrantContents(db, grantId)
  }
}

export type GrantService = ReturnType<typeof createGrantService>
