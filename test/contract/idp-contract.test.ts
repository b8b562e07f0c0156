import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { OpenApiContract } from '../helpers/openapi-contract.js'
import { send, type TestResponse } from '../helpers/signed-request.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import {
  assertContract,
  assertGnapError,
  idpContract,
  incoming,
  interactWith,
  outgoingWithLimits,
  pendingGrant,
  type PendingGrant
} from './contract-fixtures.js'

/** Every IdP-facing answer of opas, validated against Rafiki's id-provider.yaml. */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient
let contract: OpenApiContract
let world: ServerWithClient | undefined

before(async () => {
  contract = idpContract()
  world = await startServerWithClient()
  ;({ server, wallets, app } = world)
})
after(() => world?.close())

const DETAILS = '/grant/{id}/{nonce}'
const CHOICE = '/grant/{id}/{nonce}/{choice}'
const START = '/interact/{id}/{nonce}'
const FINISH = '/interact/{id}/{nonce}/finish'

const idpHeaders = (secret = server.idpSecret): Record<string, string> => ({
  'x-idp-secret': secret,
  accept: 'application/json'
})

function details(id: string, nonce: string, secret?: string): Promise<TestResponse> {
  return send(`${server.interactionUrl}/grant/${id}/${nonce}`, { headers: idpHeaders(secret) })
}

function choose(id: string, nonce: string, choice: string, secret?: string) {
  return send(`${server.interactionUrl}/grant/${id}/${nonce}/${choice}`, {
    method: 'POST',
    headers: { ...idpHeaders(secret), 'content-type': 'application/json' },
    body: '{}'
  })
}

const outgoing = () => outgoingWithLimits(`${wallets.url}/alice`, wallets.url)
const outgoingGrant = (finish = true) =>
  pendingGrant(server, app, {
    access_token: { access: [outgoing()] },
    interact: interactWith(finish)
  })

describe('GET /grant/{id}/{nonce}: grant details for the consent screen', () => {
  test('200: an outgoing payment with limits, no subject, state PENDING', async () => {
    const grant = await outgoingGrant()
    const res = await details(grant.id, grant.nonce)
    assertContract(contract, 'get', DETAILS, res)
    const body = res.body as Record<string, unknown>
    assert.deepEqual(body.access, [outgoing()])
    assert.equal(body.state, 'PENDING')
    assert.match(String(body.grantId), /^[0-9a-f-]{36}$/)
    assert.equal('subject' in body, false)
  })

  test('200: a subject request (with access alongside) echoes sub_ids', async () => {
    const subject = { sub_ids: [{ id: `${wallets.url}/alice`, format: 'uri' }] }
    const grant = await pendingGrant(server, app, {
      subject,
      access_token: { access: [incoming(`${wallets.url}/alice`)] },
      interact: interactWith(true)
    })
    const res = await details(grant.id, grant.nonce)
    assertContract(contract, 'get', DETAILS, res)
    const body = res.body as Record<string, unknown>
    assert.deepEqual(body.subject, subject)
    assert.deepEqual(body.access, [incoming(`${wallets.url}/alice`)])
  })

  test('200: a subject-only request has an empty access list', async () => {
    const subject = { sub_ids: [{ id: `${wallets.url}/carol`, format: 'uri' }] }
    const grant = await pendingGrant(server, app, { subject, interact: interactWith(false) })
    const res = await details(grant.id, grant.nonce)
    assertContract(contract, 'get', DETAILS, res)
    assert.deepEqual((res.body as { access: unknown }).access, [])
    assert.deepEqual((res.body as { subject: unknown }).subject, subject)
  })

  test('200: the state follows the decision (APPROVED, DENIED)', async () => {
    for (const [choice, state] of [
      ['accept', 'APPROVED'],
      ['reject', 'DENIED']
    ] as const) {
      const grant = await outgoingGrant()
      assert.equal((await choose(grant.id, grant.nonce, choice)).status, 202)
      const res = await details(grant.id, grant.nonce)
      assertContract(contract, 'get', DETAILS, res)
      assert.equal((res.body as { state: string }).state, state)
    }
  })

  test('401 invalid_request: wrong, empty or missing x-idp-secret', async () => {
    const grant = await outgoingGrant()
    for (const secret of ['wrong-secret', `${server.idpSecret}x`, '']) {
      const res = await details(grant.id, grant.nonce, secret)
      assertContract(contract, 'get', DETAILS, res)
      assertGnapError(res, 401, 'invalid_request')
    }
    const missing = await send(`${server.interactionUrl}/grant/${grant.id}/${grant.nonce}`, {
      headers: { accept: 'application/json' }
    })
    assertContract(contract, 'get', DETAILS, missing)
    assertGnapError(missing, 401, 'invalid_request')
  })

  test('404 unknown_interaction: unknown id, wrong nonce, non-UUID id', async () => {
    const grant = await outgoingGrant()
    for (const [id, nonce] of [
      [randomUUID(), grant.nonce],
      [grant.id, 'WRONGNONCE'],
      ['not-a-uuid', grant.nonce]
    ] as const) {
      const res = await details(id, nonce)
      assertContract(contract, 'get', DETAILS, res)
      assertGnapError(res, 404, 'unknown_interaction')
    }
  })
})

describe('POST /grant/{id}/{nonce}/{choice}: the account holder decides', () => {
  test('202 with an empty body for accept and for reject', async () => {
    for (const choice of ['accept', 'reject']) {
      const grant = await outgoingGrant()
      const res = await choose(grant.id, grant.nonce, choice)
      assertContract(contract, 'post', CHOICE, res)
      assert.equal(res.status, 202)
      assert.equal(res.text, '')
    }
  })

  test('400 invalid_interaction: an accepted interaction cannot be decided again', async () => {
    const grant = await outgoingGrant()
    assert.equal((await choose(grant.id, grant.nonce, 'accept')).status, 202)
    for (const choice of ['accept', 'reject']) {
      const res = await choose(grant.id, grant.nonce, choice)
      assertContract(contract, 'post', CHOICE, res)
      assertGnapError(res, 400, 'invalid_interaction')
    }
  })

  test('401 user_denied: a rejected interaction cannot be decided again', async () => {
    const grant = await outgoingGrant()
    assert.equal((await choose(grant.id, grant.nonce, 'reject')).status, 202)
    for (const choice of ['accept', 'reject']) {
      const res = await choose(grant.id, grant.nonce, choice)
      assertContract(contract, 'post', CHOICE, res)
      assertGnapError(res, 401, 'user_denied')
    }
  })

  test('400 invalid_request: a choice other than accept or reject', async () => {
    const grant = await outgoingGrant()
    const res = await choose(grant.id, grant.nonce, 'maybe')
    assertContract(contract, 'post', CHOICE, res)
    assertGnapError(res, 400, 'invalid_request')
    // Nothing was decided.
    assert.equal(
      ((await details(grant.id, grant.nonce)).body as { state: string }).state,
      'PENDING'
    )
  })

  test('401 invalid_interaction: a wrong secret decides nothing', async () => {
    const grant = await outgoingGrant()
    const res = await choose(grant.id, grant.nonce, 'accept', 'wrong-secret')
    assertContract(contract, 'post', CHOICE, res)
    assertGnapError(res, 401, 'invalid_interaction')
    assert.equal(
      ((await details(grant.id, grant.nonce)).body as { state: string }).state,
      'PENDING'
    )
  })

  test('404 unknown_interaction: unknown id or wrong nonce', async () => {
    const grant = await outgoingGrant()
    for (const [id, nonce] of [
      [randomUUID(), grant.nonce],
      [grant.id, 'WRONGNONCE']
    ] as const) {
      const res = await choose(id, nonce, 'accept')
      assertContract(contract, 'post', CHOICE, res)
      assertGnapError(res, 404, 'unknown_interaction')
    }
  })
})

describe('front channel (auth listener) in the same spec', () => {
  async function start(grant: PendingGrant) {
    const res = await send(grant.redirect, {})
    return { res, cookie: res.headers.get('set-cookie')?.split(';')[0] }
  }
  const finish = (grant: PendingGrant, cookie?: string) =>
    send(`${server.authUrl}/interact/${grant.id}/${grant.nonce}/finish`, {
      headers: cookie ? { cookie } : {}
    })

  test('start: 302 to the IdP; 400 unknown_interaction; 403 once decided (no finish URI)', async () => {
    const grant = await outgoingGrant(false)
    const { res } = await start(grant)
    assertContract(contract, 'get', START, res)
    assert.equal(res.status, 302)
    assert.ok(res.headers.get('location')?.startsWith(server.env.IDENTITY_SERVER_URL!))

    const unknown = await send(`${server.authUrl}/interact/${randomUUID()}/${grant.nonce}`, {})
    assertContract(contract, 'get', START, unknown)
    assertGnapError(unknown, 400, 'unknown_interaction')

    assert.equal((await choose(grant.id, grant.nonce, 'accept')).status, 202)
    const decided = (await start(grant)).res
    assertContract(contract, 'get', START, decided)
    assertGnapError(decided, 403, 'invalid_interaction')
  })

  test('finish: 302 with hash, 202 when polling, 401 without the session, 404 unknown', async () => {
    const finishable = await outgoingGrant(true)
    const one = await start(finishable)
    assert.equal((await choose(finishable.id, finishable.nonce, 'accept')).status, 202)
    const redirected = await finish(finishable, one.cookie)
    assertContract(contract, 'get', FINISH, redirected)
    assert.equal(redirected.status, 302)
    assert.ok(new URL(redirected.headers.get('location')!).searchParams.get('hash'))

    const polling = await outgoingGrant(false)
    const two = await start(polling)
    const noSession = await finish(polling)
    assertContract(contract, 'get', FINISH, noSession)
    assertGnapError(noSession, 401, 'invalid_request')
    assert.equal((await choose(polling.id, polling.nonce, 'accept')).status, 202)
    const accepted = await finish(polling, two.cookie)
    assertContract(contract, 'get', FINISH, accepted)
    assert.equal(accepted.status, 202)

    const unknown = await finish({ ...polling, id: randomUUID() }, two.cookie)
    assertContract(contract, 'get', FINISH, unknown)
    assertGnapError(unknown, 404, 'unknown_interaction')
  })
})
