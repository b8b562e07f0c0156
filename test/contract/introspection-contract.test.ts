import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { driveInteraction } from '../helpers/interaction-driver.js'
import type { OpenApiContract } from '../helpers/openapi-contract.js'
import { postJson, send, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import {
  assertContract,
  assertDeviation,
  incoming,
  interactWith,
  introspectionContract,
  outgoingWithLimits,
  pendingGrant,
  requestGrant
} from './contract-fixtures.js'

/** Every introspection answer, validated against Rafiki's token-introspection.yaml. */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient
let contract: OpenApiContract
let world: ServerWithClient | undefined

before(async () => {
  contract = introspectionContract()
  world = await startServerWithClient()
  ;({ server, wallets, app } = world)
})
after(() => world?.close())

interface IssuedToken {
  value: string
  manage: string
  access: unknown[]
}
interface Introspection {
  active: boolean
  grant?: string
  access?: unknown[]
  client?: unknown
}

async function introspect(
  token: string,
  access?: unknown[],
  target: TestServer = server
): Promise<Introspection> {
  const res = await postJson(`${target.introspectionUrl}/`, {
    access_token: token,
    ...(access ? { access } : {})
  })
  assertContract(contract, 'post', '/', res)
  assert.equal(res.status, 200)
  return res.body as Introspection
}

async function incomingToken(
  target = server,
  client = app,
  clientField: unknown = client.walletAddress
) {
  const res = await requestGrant(target, client, {
    client: clientField,
    access_token: { access: [incoming()] }
  })
  assert.equal(res.status, 200, res.text)
  const body = res.body as { access_token: IssuedToken; continue: { uri: string } }
  return { token: body.access_token, continueUri: body.continue.uri, res }
}

/** An outgoing-payment grant with limits, approved through the IdP and continued. */
async function outgoingToken(): Promise<IssuedToken> {
  const pending = await pendingGrant(server, app, {
    access_token: { access: [outgoingWithLimits(`${wallets.url}/alice`, wallets.url)] },
    interact: interactWith(true)
  })
  const { finish } = await driveInteraction(server, pending.redirect, 'accept')
  const ref = new URL(finish.headers.get('location')!).searchParams.get('interact_ref')!
  const cont = await signedRequest(pending.continueUri, {
    client: app,
    token: pending.continueToken,
    body: { interact_ref: ref }
  })
  assert.equal(cont.status, 200, cont.text)
  return (cont.body as { access_token: IssuedToken }).access_token
}

describe('active tokens', () => {
  test('wallet-address client: without `access` the answer is active with access []', async () => {
    const { token } = await incomingToken()
    const info = await introspect(token.value)
    assert.equal(info.active, true)
    assert.match(String(info.grant), /^[0-9a-f-]{36}$/)
    assert.deepEqual(info.access, [])
    assert.deepEqual(info.client, { walletAddress: app.walletAddress })
  })

  test('wallet-address client: with `access` (as a resource server asks) the stored item', async () => {
    const { token } = await incomingToken()
    const info = await introspect(token.value, [
      { type: 'incoming-payment', actions: ['read'], identifier: `${wallets.url}/bob` }
    ])
    assert.deepEqual(info.access, [incoming()])
    const none = await introspect(token.value, [
      { type: 'incoming-payment', actions: ['complete'], identifier: `${wallets.url}/bob` }
    ])
    assert.equal(none.active, true)
    assert.deepEqual(none.access, [])
  })

  test('JWK client (directed identity): client is {jwk}, spec-valid', async () => {
    const jwkClient = wallets.addClient('jwk-client')
    const { kid, alg, kty, crv, x } = jwkClient.publicJwk
    const jwk = { kid, alg, kty, crv, x }
    const { token } = await incomingToken(server, jwkClient, { jwk })
    const info = await introspect(token.value, [{ type: 'incoming-payment', actions: ['create'] }])
    assert.equal(info.active, true)
    assert.deepEqual(info.client, { jwk })
    assert.deepEqual(info.access, [incoming()])
    const bare = await introspect(token.value)
    assert.deepEqual(bare.client, { jwk })
  })

  test('outgoing payment with limits: returned in full, also for a request naming the limits', async () => {
    const token = await outgoingToken()
    const stored = outgoingWithLimits(`${wallets.url}/alice`, wallets.url)
    const info = await introspect(token.value, [
      { type: 'outgoing-payment', actions: ['create'], identifier: `${wallets.url}/alice` }
    ])
    assert.deepEqual(info.access, [stored])
    const withLimits = await introspect(token.value, [
      { ...stored, actions: ['read'] },
      { type: 'outgoing-payment', actions: ['read'], identifier: `${wallets.url}/mallory` }
    ])
    assert.deepEqual(withLimits.access, [stored])
    assert.deepEqual((await introspect(token.value)).access, [])
  })
})

describe('inactive tokens: {"active":false}, nothing else', () => {
  const inactive = async (value: string, target?: TestServer) =>
    assert.deepEqual(await introspect(value, undefined, target), { active: false })

  test('unknown token values', async () => {
    await inactive(randomBytes(32).toString('base64url'))
    await inactive('x')
  })

  test('a revoked token', async () => {
    const { token } = await incomingToken()
    const res = await signedRequest(token.manage, {
      client: app,
      method: 'DELETE',
      token: token.value
    })
    assert.equal(res.status, 204, res.text)
    await inactive(token.value)
  })

  test('a rotated token (the new one is active)', async () => {
    const { token } = await incomingToken()
    const res = await signedRequest(token.manage, {
      client: app,
      method: 'POST',
      token: token.value
    })
    assert.equal(res.status, 200, res.text)
    await inactive(token.value)
    const next = (res.body as { access_token: IssuedToken }).access_token
    assert.equal((await introspect(next.value)).active, true)
  })

  test('a token of a cancelled grant', async () => {
    const { token, continueUri, res } = await incomingToken()
    const continueToken = (res.body as { continue: { access_token: { value: string } } }).continue
      .access_token.value
    const cancel = await signedRequest(continueUri, {
      client: app,
      method: 'DELETE',
      token: continueToken
    })
    assert.equal(cancel.status, 204, cancel.text)
    await inactive(token.value)
  })

  test('an expired token (ACCESS_TOKEN_EXPIRY_SECONDS=600)', async () => {
    const short = await startTestServer({ ACCESS_TOKEN_EXPIRY_SECONDS: '600' })
    try {
      const client = wallets.addClient('short-lived', { authServer: short.grantUrl })
      const { token } = await incomingToken(short, client)
      assert.equal((await introspect(token.value, undefined, short)).active, true)
      // Its lifetime over, on the database's clock that judges it: moved back, not slept through.
      await short.services.db.query(
        "update access_tokens set created_at = created_at - interval '601 seconds'"
      )
      await inactive(token.value, short)
    } finally {
      await short.close()
    }
  })
})

describe('answers the spec does not list (GNAP envelope instead)', () => {
  const post = (body: string, headers: Record<string, string> = {}): Promise<TestResponse> =>
    send(`${server.introspectionUrl}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body
    })

  test('400 invalid_request: a body without access_token, or with an invalid access item', async () => {
    for (const body of [
      {},
      { access_token: '' },
      { access_token: 'x', access: [{ type: 'outgoing-payment', actions: ['create'] }] }
    ]) {
      const res = await post(JSON.stringify(body))
      assertDeviation(contract, 'post', '/', res, { status: 400, code: 'invalid_request' })
    }
    assertDeviation(contract, 'post', '/', await post('{'), {
      status: 400,
      code: 'invalid_request'
    })
  })

  test('406 invalid_request: a caller that does not accept JSON', async () => {
    const res = await post(JSON.stringify({ access_token: 'x' }), { accept: 'text/html' })
    assertDeviation(contract, 'post', '/', res, { status: 406, code: 'invalid_request' })
  })
})
