import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { postJson, signedRequest } from '../helpers/signed-request.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'

/**
 * Whose key verifies a request: the managed token must be the one presented, a directed-identity
 * signature must name the JWK, an unknown tenant is refused before any client key fetch, and
 * a client's JWKS is fetched once and cached.
 */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient
let world: ServerWithClient | undefined
let other: TestClient

before(async () => {
  world = await startServerWithClient()
  ;({ server, wallets, app } = world)
  other = wallets.addClient('other', { authServer: server.grantUrl })
})
after(() => world?.close())

interface GrantWire {
  access_token: { value: string; manage: string }
  continue: { uri: string; access_token: { value: string } }
}

const incoming = { type: 'incoming-payment', actions: ['create', 'read'] }

async function issuedGrant(c: TestClient, client: unknown = c.walletAddress): Promise<GrantWire> {
  const res = await signedRequest(server.grantUrl, {
    client: c,
    body: { client, access_token: { access: [incoming] } }
  })
  assert.equal(res.status, 200, res.text)
  return res.body as GrantWire
}

const introspect = async (token: string) =>
  (await postJson(`${server.introspectionUrl}/`, { access_token: token })).body as {
    active: boolean
    client?: unknown
  }

describe('token management needs the very token being managed', () => {
  let a: GrantWire['access_token']
  let b: GrantWire['access_token']
  let otherToken: GrantWire['access_token']
  before(async () => {
    a = (await issuedGrant(app)).access_token
    b = (await issuedGrant(app)).access_token
    otherToken = (await issuedGrant(other)).access_token
  })

  for (const method of ['POST', 'DELETE']) {
    test(`${method}: another valid token of the same client is refused`, async () => {
      const res = await signedRequest(a.manage, { method, client: app, token: b.value })
      assertGnapError(res, 401, 'invalid_client', 'invalid access token')
    })
    test(`${method}: a garbage token is refused`, async () => {
      const res = await signedRequest(a.manage, { method, client: app, token: 'garbage' })
      assertGnapError(res, 401, 'invalid_client', 'invalid access token')
    })
    test(`${method}: a signed request with no token is refused`, async () => {
      const res = await signedRequest(a.manage, { method, client: app })
      assertGnapError(res, 401, 'invalid_client', 'missing access token')
    })
    test(`${method}: another client's token, signed by that client, is refused`, async () => {
      const res = await signedRequest(a.manage, { method, client: other, token: otherToken.value })
      assertGnapError(res, 401, 'invalid_client', 'invalid access token')
    })
    test(`${method}: the right token signed by another client is refused`, async () => {
      // The grant's client is `app`: `other`'s keyid is not in app's JWKS.
      const res = await signedRequest(a.manage, { method, client: other, token: a.value })
      assertGnapError(res, 400, 'invalid_client', 'could not determine client')
    })
  }

  test('after all the refusals every token is still active, and the real one rotates', async () => {
    for (const token of [a, b, otherToken]) {
      assert.equal((await introspect(token.value)).active, true)
    }
    const res = await signedRequest(a.manage, { method: 'POST', client: app, token: a.value })
    assert.equal(res.status, 200, res.text)
    assert.equal((await introspect(a.value)).active, false)
    assert.equal((await introspect(b.value)).active, true)
  })

  test('a continuation token of another grant is refused at /continue', async () => {
    const first = await issuedGrant(app)
    const second = await issuedGrant(app)
    const res = await signedRequest(first.continue.uri, {
      method: 'DELETE',
      client: app,
      token: second.continue.access_token.value
    })
    assertGnapError(res, 401, 'invalid_continuation', 'invalid grant')
    assert.equal((await introspect(first.access_token.value)).active, true)
  })
})

describe('directed identity (client {jwk})', () => {
  const jwkClient = () => ({ jwk: app.publicJwk })

  test('a signature naming the JWK kid is accepted, and introspection names the JWK', async () => {
    const grant = await issuedGrant(app, jwkClient())
    const info = await introspect(grant.access_token.value)
    assert.equal(info.active, true)
    assert.deepEqual(info.client, { jwk: app.publicJwk })
  })

  test('a signature whose keyid differs from jwk.kid is refused', async () => {
    // Signed with the JWK's own private key: only the keyid is wrong.
    const res = await signedRequest(server.grantUrl, {
      client: app,
      keyid: `${app.keyId}-other`,
      body: { client: jwkClient(), access_token: { access: [incoming] } }
    })
    assertGnapError(res, 400, 'invalid_client', 'could not determine client')
  })

  test('a signature by another key under the JWK kid is refused', async () => {
    const res = await signedRequest(server.grantUrl, {
      client: app,
      key: generateKeyPairSync('ed25519').privateKey,
      body: { client: jwkClient(), access_token: { access: [incoming] } }
    })
    assertGnapError(res, 401, 'invalid_client', 'invalid signature')
  })

  test('rotation is verified against the stored JWK, kid included', async () => {
    const { access_token: token } = await issuedGrant(app, jwkClient())
    const wrongKid = await signedRequest(token.manage, {
      method: 'POST',
      client: app,
      token: token.value,
      keyid: 'not-the-kid'
    })
    assertGnapError(wrongKid, 400, 'invalid_client', 'could not determine client')
    const wrongKey = await signedRequest(token.manage, {
      method: 'POST',
      client: other,
      token: token.value,
      keyid: app.keyId
    })
    assertGnapError(wrongKey, 401, 'invalid_client', 'invalid signature')
    assert.equal((await introspect(token.value)).active, true)
    const ok = await signedRequest(token.manage, {
      method: 'POST',
      client: app,
      token: token.value
    })
    assert.equal(ok.status, 200, ok.text)
  })
})

describe('wallet-address clients', () => {
  test("a request naming one client but signed with another client's key is refused", async () => {
    const res = await signedRequest(server.grantUrl, {
      client: other,
      body: { client: app.walletAddress, access_token: { access: [incoming] } }
    })
    assertGnapError(res, 400, 'invalid_client', 'could not determine client')
  })

  test('an unknown tenant is refused before any fetch of the client keys', async () => {
    const stranger = wallets.addClient('stranger')
    const body = {
      client: { walletAddress: stranger.walletAddress },
      access_token: { access: [incoming] }
    }
    for (const tenant of [randomUUID(), 'not-a-uuid', 'continue']) {
      const res = await signedRequest(`${server.authUrl}/${tenant}`, { client: stranger, body })
      assertGnapError(res, 404, 'invalid_request', 'unknown tenant')
    }
    assert.equal(wallets.hits('/stranger/jwks.json'), 0)
    assert.equal(wallets.hits('/stranger'), 0)
    // The same client on the real tenant is fetched (the counter does count).
    const res = await signedRequest(server.grantUrl, { client: stranger, body })
    assert.equal(res.status, 200, res.text)
    assert.equal(wallets.hits('/stranger/jwks.json'), 1)
  })

  test("a client's JWKS is fetched once and then served from the cache", async () => {
    const cached = wallets.addClient('cached', { authServer: server.grantUrl })
    await issuedGrant(cached)
    const { access_token: token } = await issuedGrant(cached)
    const rotated = await signedRequest(token.manage, {
      method: 'POST',
      client: cached,
      token: token.value
    })
    assert.equal(rotated.status, 200, rotated.text)
    assert.equal(wallets.hits('/cached/jwks.json'), 1)
    // Non-interactive grants never need the wallet address document itself.
    assert.equal(wallets.hits('/cached'), 0)
  })
})
