import assert from 'node:assert/strict'
import { postJson, send, signedRequest, type TestResponse } from '../../helpers/signed-request.js'
import { outgoingPaymentAccess } from '../../helpers/sdk-client.js'
import type { TestServer } from '../../helpers/test-server.js'
import type { TestClient } from '../../helpers/wallet-address-server.js'

/**
 * Raw GNAP flows for the integration tests: every step is one real HTTP request (signed like the
 * Open Payments SDK where the AS requires it), so tests see exact statuses and error bodies.
 */

export const FINISH_URI = 'http://127.0.0.1:9/return?session=1'

export interface PendingGrant {
  continueUri: string
  continueToken: string
  redirect: string
  /** The AS interaction nonce (`interact.finish`). */
  finish: string
  wait: number | undefined
}

export interface IssuedToken {
  value: string
  manage: string
}

export interface StartedInteraction {
  id: string
  nonce: string
  /** `opas_interaction=…` as the browser would send it back. */
  cookie: string
  location: URL
}

/** `{error: {code, description}}` of a GNAP error answer. */
export function errorOf(res: TestResponse): { code?: string; description?: string } {
  return (res.body as { error?: { code?: string; description?: string } } | undefined)?.error ?? {}
}

/** Asserts a GNAP error answer exactly (status, code and, when given, description). */
export { assertGnapError } from '../../helpers/gnap-assertions.js'

/** A grant request for an outgoing payment from `account`, finished by redirect unless polling. */
export function interactiveGrantBody(
  client: Pick<TestClient, 'walletAddress'>,
  account: string,
  opts: { finish?: boolean; clientNonce?: string } = {}
) {
  const finish = { method: 'redirect', uri: FINISH_URI, nonce: opts.clientNonce ?? 'client-nonce' }
  return {
    client: client.walletAddress,
    access_token: { access: [outgoingPaymentAccess(account)] },
    interact: { start: ['redirect'], ...(opts.finish === false ? {} : { finish }) }
  }
}

/** A grant request the AS issues at once: incoming payments, create and read. */
export const nonInteractiveGrantBody = (client: Pick<TestClient, 'walletAddress'>) => ({
  client: client.walletAddress,
  access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] }
})

/** The continuation and interaction of a 200 answer to {@link interactiveGrantBody}. */
export function pendingGrantOf(res: TestResponse): PendingGrant {
  assert.equal(res.status, 200, res.text)
  const body = res.body as {
    interact: { redirect: string; finish: string }
    continue: { uri: string; access_token: { value: string }; wait?: number }
  }
  return {
    continueUri: body.continue.uri,
    continueToken: body.continue.access_token.value,
    redirect: body.interact.redirect,
    finish: body.interact.finish,
    wait: body.continue.wait
  }
}

/** The token and continuation of a 200 answer to {@link nonInteractiveGrantBody}. */
export function issuedGrantOf(res: TestResponse): { token: IssuedToken; grant: PendingGrant } {
  assert.equal(res.status, 200, res.text)
  const body = res.body as {
    access_token: IssuedToken
    continue: { uri: string; access_token: { value: string } }
  }
  return {
    token: { value: body.access_token.value, manage: body.access_token.manage },
    grant: {
      continueUri: body.continue.uri,
      continueToken: body.continue.access_token.value,
      redirect: '',
      finish: '',
      wait: undefined
    }
  }
}

export function createGrantFlows(server: TestServer, client: TestClient, account: string) {
  const outgoing = outgoingPaymentAccess(account)
  const idpHeaders = { 'x-idp-secret': server.idpSecret, accept: 'application/json' }

  async function requestInteractive(
    opts: { finish?: boolean; clientNonce?: string } = {}
  ): Promise<PendingGrant> {
    const body = interactiveGrantBody(client, account, opts)
    return pendingGrantOf(await signedRequest(server.grantUrl, { client, body }))
  }

  async function requestNonInteractive(): Promise<{ token: IssuedToken; grant: PendingGrant }> {
    const body = nonInteractiveGrantBody(client)
    return issuedGrantOf(await signedRequest(server.grantUrl, { client, body }))
  }

  /** The browser opens `interact.redirect`: 302 to the IdP with the session cookie. */
  async function startInteraction(redirect: string): Promise<StartedInteraction> {
    const res = await send(redirect, {})
    assert.equal(res.status, 302, `interaction start answered ${res.status}: ${res.text}`)
    const location = new URL(res.headers.get('location')!)
    const setCookie = res.headers.get('set-cookie')
    assert.ok(setCookie, 'interaction start sets the session cookie')
    return {
      id: location.searchParams.get('interactId')!,
      nonce: location.searchParams.get('nonce')!,
      cookie: setCookie.split(';')[0]!,
      location
    }
  }

  const idpDetails = (id: string, nonce: string) =>
    send(`${server.interactionUrl}/grant/${id}/${nonce}`, { headers: idpHeaders })

  const idpChoose = (id: string, nonce: string, choice: 'accept' | 'reject') =>
    send(`${server.interactionUrl}/grant/${id}/${nonce}/${choice}`, {
      method: 'POST',
      headers: { ...idpHeaders, 'content-type': 'application/json' },
      body: '{}'
    })

  const finishInteraction = (id: string, nonce: string, cookie?: string) =>
    send(`${server.authUrl}/interact/${id}/${nonce}/finish`, {
      headers: cookie === undefined ? {} : { cookie }
    })

  /** The grant id behind an interaction, from the IdP's details. */
  async function grantIdOf(started: StartedInteraction): Promise<string> {
    const res = await idpDetails(started.id, started.nonce)
    assert.equal(res.status, 200, res.text)
    return (res.body as { grantId: string }).grantId
  }

  /** Start, IdP accept and browser finish: the `interact_ref` of the finish redirect. */
  async function approve(
    pending: PendingGrant
  ): Promise<StartedInteraction & { interactRef: string; grantId: string }> {
    const started = await startInteraction(pending.redirect)
    const grantId = await grantIdOf(started)
    assert.equal((await idpChoose(started.id, started.nonce, 'accept')).status, 202)
    const finished = await finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(finished.status, 302, finished.text)
    const interactRef = new URL(finished.headers.get('location')!).searchParams.get('interact_ref')
    assert.ok(interactRef, 'the finish redirect carries interact_ref')
    return { ...started, interactRef, grantId }
  }

  const continueGrant = (pending: PendingGrant, body: unknown = {}) =>
    signedRequest(pending.continueUri, { client, token: pending.continueToken, body })

  const cancelGrant = (pending: PendingGrant) =>
    signedRequest(pending.continueUri, { client, token: pending.continueToken, method: 'DELETE' })

  const rotate = (token: IssuedToken) =>
    signedRequest(token.manage, { client, token: token.value, method: 'POST' })

  const revoke = (token: IssuedToken) =>
    signedRequest(token.manage, { client, token: token.value, method: 'DELETE' })

  async function introspect(value: string): Promise<{ active: boolean; grant?: string }> {
    const res = await postJson(`${server.introspectionUrl}/`, { access_token: value })
    assert.equal(res.status, 200, res.text)
    return res.body as { active: boolean; grant?: string }
  }

  async function countTokens(grantId: string, liveOnly: boolean): Promise<number> {
    const { rows } = await server.services.db.query<{ n: number }>(
      `select count(*)::int as n from access_tokens where grant_id = $1${
        liveOnly ? ' and revoked_at is null' : ''
      }`,
      [grantId]
    )
    return rows[0]!.n
  }

  /** The `interact_ref` of an interaction, read from the database (the browser never saw it). */
  async function interactRefOf(interactionId: string): Promise<string> {
    const { rows } = await server.services.db.query<{ ref: string }>(
      'select ref from interactions where id = $1',
      [interactionId]
    )
    return rows[0]!.ref
  }

  return {
    outgoing,
    interactRefOf,
    requestInteractive,
    requestNonInteractive,
    startInteraction,
    idpDetails,
    idpChoose,
    finishInteraction,
    grantIdOf,
    approve,
    continueGrant,
    cancelGrant,
    rotate,
    revoke,
    introspect,
    liveTokens: (grantId: string) => countTokens(grantId, true),
    allTokens: (grantId: string) => countTokens(grantId, false)
  }
}

export type GrantFlows = ReturnType<typeof createGrantFlows>
