import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { postJson, signedRequest } from '../helpers/signed-request.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'

/**
 * INTROSPECTION_AUTH=signature (RFC 9767 §3.2): a resource server signs its introspection call
 * with a key of its JWKS, listed by the operator, and names itself in `resource_server`; any
 * other caller gets 401 `invalid_resource_server` (§3.5 names the code) and learns nothing of
 * the token.
 */

let rsHost: WalletAddressServer
let backend: TestClient
let stranger: TestClient
let world: ServerWithClient
let token: string

const jwkOf = (c: TestClient) => {
  const { kid, alg, kty, crv, x } = c.publicJwk
  return { kid, alg, kty, crv, x }
}

before(async () => {
  // The resource servers' JWKS, served locally (no test reaches the internet).
  rsHost = await startWalletAddressServer()
  backend = rsHost.addClient('backend')
  stranger = rsHost.addClient('stranger')
  world = await startServerWithClient({
    INTROSPECTION_AUTH: 'signature',
    INTROSPECTION_RESOURCE_SERVERS: `rafiki-backend=${backend.walletAddress}/jwks.json`
  })
  const res = await signedRequest(world.server.grantUrl, {
    client: world.app,
    body: {
      client: world.app.walletAddress,
      access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] }
    }
  })
  assert.equal(res.status, 200, res.text)
  token = (res.body as { access_token: { value: string } }).access_token.value
})
after(async () => {
  await world.close()
  await rsHost.close()
})

const introspectionUrl = () => `${world.server.introspectionUrl}/`

const signedIntrospection = (
  body: Record<string, unknown>,
  options: Partial<Parameters<typeof signedRequest>[1]> = {}
) =>
  signedRequest(introspectionUrl(), {
    client: backend,
    body: { access_token: token, ...body },
    ...options
  })

describe('a listed resource server', () => {
  test('named by reference, signing with a key of its JWKS: the answer', async () => {
    const res = await signedIntrospection({ resource_server: 'rafiki-backend' })
    assert.equal(res.status, 200, res.text)
    const body = res.body as { active: boolean; grant: string }
    assert.equal(body.active, true)
    assert.equal(typeof body.grant, 'string')
  })

  test('named by value (its key, RFC 9767 §3.2): the answer', async () => {
    const res = await signedIntrospection({
      resource_server: { key: { proof: 'httpsig', jwk: jwkOf(backend) } }
    })
    assert.equal(res.status, 200, res.text)
    assert.equal((res.body as { active: boolean }).active, true)
  })

  test('a token bound by another proofing method is not active (RFC 9767 §3.3)', async () => {
    const res = await signedIntrospection({ resource_server: 'rafiki-backend', proof: 'mtls' })
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(res.body, { active: false })
  })
})

describe('refused: 401 invalid_resource_server, and nothing of the token', () => {
  const refusals: [string, () => ReturnType<typeof signedRequest>, RegExp][] = [
    [
      'an unsigned call (as Rafiki accepts one)',
      () =>
        postJson(introspectionUrl(), { access_token: token, resource_server: 'rafiki-backend' }),
      /Signature and Signature-Input are required/
    ],
    ['no resource_server', () => signedIntrospection({}), /resource_server is required/],
    [
      'a name no one listed',
      () => signedIntrospection({ resource_server: 'other-backend' }),
      /unknown resource server/
    ],
    [
      "a listed name, signed with a key not in that server's JWKS",
      () => signedIntrospection({ resource_server: 'rafiki-backend' }, { client: stranger }),
      /signing key is not in the resource server JWKS/
    ],
    [
      'a key by value that belongs to no listed server',
      () =>
        signedIntrospection(
          { resource_server: { key: { proof: 'httpsig', jwk: jwkOf(stranger) } } },
          { client: stranger }
        ),
      /names a key of no known resource server/
    ],
    [
      "a listed server's key by value, signed with another",
      () =>
        signedIntrospection(
          { resource_server: { key: { proof: 'httpsig', jwk: jwkOf(backend) } } },
          { client: stranger }
        ),
      /not signed with the key in resource_server/
    ],
    [
      'a body changed after signing',
      () =>
        signedIntrospection(
          { resource_server: 'rafiki-backend' },
          { tamperBody: (b) => b.replace('"access_token":"', '"access_token":"x') }
        ),
      /Content-Digest does not match/
    ],
    [
      'a signature older than the freshness window',
      () =>
        signedIntrospection(
          { resource_server: 'rafiki-backend' },
          { created: Math.floor(Date.now() / 1000) - 3600 }
        ),
      /outside the accepted window/
    ],
    [
      'a signature that does not cover @target-uri',
      () =>
        signedIntrospection(
          { resource_server: 'rafiki-backend' },
          { components: ['@method', 'content-digest'] }
        ),
      /required component is not covered/
    ],
    [
      'a signature made for another URL (the auth listener), sent here',
      () =>
        signedRequest(`${world.server.authUrl}/`, {
          client: backend,
          body: { access_token: token, resource_server: 'rafiki-backend' },
          sendTo: introspectionUrl()
        }),
      /^invalid signature$/
    ]
  ]
  for (const [what, call, description] of refusals) {
    test(what, async () => {
      const res = await call()
      assertGnapError(res, 401, 'invalid_resource_server', description)
      assert.ok(!res.text.includes('"active"'))
    })
  }

  test('a listed server whose JWKS cannot be fetched is refused, and says so', async () => {
    const other = await startServerWithClient({
      INTROSPECTION_AUTH: 'signature',
      // Port 9 (discard) answers nothing.
      INTROSPECTION_RESOURCE_SERVERS: 'gone=http://127.0.0.1:9/jwks.json'
    })
    try {
      const res = await signedRequest(`${other.server.introspectionUrl}/`, {
        client: backend,
        body: { access_token: 'x', resource_server: 'gone' }
      })
      assertGnapError(
        res,
        401,
        'invalid_resource_server',
        /could not fetch the resource server JWKS/
      )
    } finally {
      await other.close()
    }
  })
})
