import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, beforeEach, describe, test } from 'node:test'
import {
  isFinalizedGrant,
  isPendingGrant,
  type AuthenticatedClient
} from '@interledger/open-payments'
import { driveInteraction, interactRefFor } from '../helpers/interaction-driver.js'
import { outgoingPaymentAccess, sdkClientFor } from '../helpers/sdk-client.js'
import { postJson, untilNextSecond } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { startWalletAddressServer, type TestClient } from '../helpers/wallet-address-server.js'

let server: TestServer
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>
let testClient: TestClient
let client: AuthenticatedClient

const introspect = async (token: string, access?: unknown[]) =>
  (
    await postJson(`${server.introspectionUrl}/`, {
      access_token: token,
      ...(access ? { access } : {})
    })
  ).body as { active: boolean; grant?: string; access?: unknown[]; client?: unknown }

/** The access token of a grant that must have been issued. */
function issued<A>(grant: { access_token?: A }): A {
  assert.ok(grant.access_token, 'grant carries an access token')
  return grant.access_token
}

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer()
})
// A client of its own for each test: opas refuses a continuation or token request whose
// signature it has seen, and the SDK signs identical requests identically within one second
// (`created` has a resolution of a second), so two tests making the same request in the same
// second would be one request sent twice.
let clientName = ''
let clientCount = 0
beforeEach(async () => {
  clientName = `app-${++clientCount}`
  testClient = wallets.addClient(clientName, { authServer: server.grantUrl })
  client = await sdkClientFor(testClient)
})
after(async () => {
  await server.close()
  await wallets.close()
})

const incoming = (identifier?: string) => ({
  type: 'incoming-payment' as const,
  actions: ['create' as const, 'read' as const, 'list' as const],
  ...(identifier ? { identifier } : {})
})
const outgoing = (identifier: string) => outgoingPaymentAccess(identifier)

describe('non-interactive grants', () => {
  test('incoming-payment grant is issued at once and introspects active', async () => {
    const grant = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [incoming()] } }
    )
    assert.ok(isFinalizedGrant(grant))
    assert.deepEqual(issued(grant).access, [incoming()])
    assert.equal(issued(grant).expires_in, 600)
    assert.ok(issued(grant).value.length >= 43, '256-bit token')
    const info = await introspect(issued(grant).value, [
      { type: 'incoming-payment', actions: ['read'], identifier: `${wallets.url}/bob` }
    ])
    assert.equal(info.active, true)
    assert.deepEqual(info.access, [incoming()])
    assert.deepEqual(info.client, { walletAddress: testClient.walletAddress })
  })

  test('eight identical grant requests at once are eight grants, each with a live token', async () => {
    // Signed in the same second, they are byte-identical: none is refused as a replay.
    const grants = await Promise.all(
      Array.from({ length: 8 }, () =>
        client.grant.request({ url: server.grantUrl }, { access_token: { access: [incoming()] } })
      )
    )
    const tokens = grants.map((grant) => {
      assert.ok(isFinalizedGrant(grant))
      return issued(grant).value
    })
    assert.equal(new Set(tokens).size, 8)
    for (const token of tokens) assert.equal((await introspect(token)).active, true)
  })

  test('quote grant, and a grant with two items, on the operator endpoint `/`', async () => {
    const quote = { type: 'quote' as const, actions: ['create' as const, 'read' as const] }
    const one = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [quote] } }
    )
    assert.ok(isFinalizedGrant(one))
    const two = await client.grant.request(
      { url: `${server.authUrl}/` },
      { access_token: { access: [incoming(), quote] } }
    )
    assert.ok(isFinalizedGrant(two))
    assert.deepEqual(issued(two).access, [incoming(), quote])
    const info = await introspect(issued(two).value, [{ type: 'quote', actions: ['create'] }])
    assert.deepEqual(info.access, [quote])
  })

  test('directed identity: a JWK client gets a non-interactive grant, introspection names the JWK', async () => {
    const jwk = {
      ...testClient.publicJwk,
      alg: 'EdDSA' as const,
      kty: 'OKP' as const,
      crv: 'Ed25519' as const
    }
    const grant = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [incoming()] } },
      { jwk: { kid: jwk.kid, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x: jwk.x as string } }
    )
    assert.ok(isFinalizedGrant(grant))
    const info = await introspect(issued(grant).value)
    assert.equal(info.active, true)
    assert.deepEqual(info.client, {
      jwk: { kid: jwk.kid, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x: jwk.x }
    })
    // The JWK client rotates with the same key, verified against the stored JWK.
    const rotated = await client.token.rotate({
      url: issued(grant).manage,
      accessToken: issued(grant).value
    })
    assert.equal((await introspect(rotated.access_token.value)).active, true)
  })

  test('a non-interactive grant is finalised: polling it never mints a second token', async () => {
    const grant = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [incoming()] } }
    )
    assert.ok(isFinalizedGrant(grant))
    await assert.rejects(
      client.grant.continue({
        url: grant.continue.uri,
        accessToken: grant.continue.access_token.value
      }),
      (err: { status?: number; code?: string }) =>
        err.status === 401 && err.code === 'request_denied'
    )
  })
})

describe('interactive grants through the IdP back channel', () => {
  const requestOutgoing = (finish = true) =>
    client.grant.request(
      { url: server.grantUrl },
      {
        access_token: { access: [outgoing(`${wallets.url}/alice`)] },
        interact: {
          start: ['redirect'],
          ...(finish
            ? {
                finish: {
                  method: 'redirect',
                  uri: 'http://127.0.0.1:9/return?session=1',
                  nonce: 'client-nonce-1'
                }
              }
            : {})
        }
      }
    )

  test('accept: finish redirect carries a verifiable hash; continuing issues the token once', async () => {
    const pending = await requestOutgoing()
    assert.ok(isPendingGrant(pending))
    const { finish, details, idpLocation } = await driveInteraction(
      server,
      pending.interact.redirect,
      'accept'
    )
    assert.equal(idpLocation.searchParams.get('clientName'), `Test Client ${clientName}`)
    assert.equal(idpLocation.searchParams.get('clientUri'), testClient.walletAddress)
    assert.deepEqual((details as { access: unknown }).access, [outgoing(`${wallets.url}/alice`)])
    assert.equal(finish.status, 302)
    const back = new URL(finish.headers.get('location')!)
    assert.equal(back.searchParams.get('session'), '1')
    const interactRef = back.searchParams.get('interact_ref')!
    const expected = createHash('sha256')
      .update(`client-nonce-1\n${pending.interact.finish}\n${interactRef}\n${server.grantUrl}`)
      .digest('base64')
    assert.equal(back.searchParams.get('hash'), expected)

    const token = await client.grant.continue(
      { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
      { interact_ref: interactRef }
    )
    assert.ok(isFinalizedGrant(token))
    const info = await introspect(issued(token).value, [
      { type: 'outgoing-payment', actions: ['create'], identifier: `${wallets.url}/alice` }
    ])
    assert.equal(info.active, true)
    assert.deepEqual(info.access, [outgoing(`${wallets.url}/alice`)])
    // The interact_ref works once. (In the next second: the same request within this one would
    // be refused as a replay before the interact_ref is even looked at.)
    await untilNextSecond()
    await assert.rejects(
      client.grant.continue(
        { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
        { interact_ref: interactRef }
      ),
      (err: { status?: number }) => err.status === 401
    )
  })

  test('reject: the client is sent back with result=grant_rejected and gets no token', async () => {
    const pending = await requestOutgoing()
    assert.ok(isPendingGrant(pending))
    const { finish } = await driveInteraction(server, pending.interact.redirect, 'reject')
    const back = new URL(finish.headers.get('location')!)
    assert.equal(back.searchParams.get('result'), 'grant_rejected')
    assert.equal(back.searchParams.get('interact_ref'), null)
    // The interaction's real reference, as if the client had it: the rejection refuses it.
    const interactRef = await interactRefFor(server, pending.continue.uri)
    await assert.rejects(
      client.grant.continue(
        { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
        { interact_ref: interactRef }
      ),
      (err: { status?: number; code?: string; description?: string }) =>
        err.status === 404 &&
        err.code === 'invalid_continuation' &&
        err.description === 'grant not found'
    )
  })

  test('polling: pending with wait until accepted, then the token; the browser gets 202', async () => {
    const pending = await requestOutgoing(false)
    assert.ok(isPendingGrant(pending))
    const cont = { url: pending.continue.uri, accessToken: pending.continue.access_token.value }
    const still = await client.grant.continue(cont)
    // Still pending: a continuation with `wait`, and no token yet.
    assert.equal((still as { access_token?: unknown }).access_token, undefined)
    assert.equal(still.continue.uri, pending.continue.uri)
    assert.equal(still.continue.wait, 0)
    const { finish } = await driveInteraction(server, pending.interact.redirect, 'accept')
    assert.equal(finish.status, 202)
    // A client polls again after `wait` seconds; within the same second the SDK would send the
    // very same signed request, which opas refuses as a replay.
    await untilNextSecond()
    const done = await client.grant.continue(cont)
    assert.ok(isFinalizedGrant(done))
    assert.equal((await introspect(issued(done).value)).active, true)
  })

  test('subject: wallet-address ownership is answered with sub_ids and no token', async () => {
    const subject = { sub_ids: [{ id: `${wallets.url}/alice`, format: 'uri' as const }] }
    const pending = await client.grant.request(
      { url: server.grantUrl },
      {
        subject,
        interact: {
          start: ['redirect'],
          finish: { method: 'redirect', uri: 'http://127.0.0.1:9/r', nonce: 'n2' }
        }
      }
    )
    assert.ok(isPendingGrant(pending))
    const { finish } = await driveInteraction(server, pending.interact.redirect, 'accept')
    const ref = new URL(finish.headers.get('location')!).searchParams.get('interact_ref')!
    const result = await client.grant.continue(
      { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
      { interact_ref: ref }
    )
    assert.deepEqual((result as { subject?: unknown }).subject, subject)
    assert.equal((result as { access_token?: unknown }).access_token, undefined)
  })

  test('cancel: the grant and every token of it are revoked', async () => {
    const grant = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [incoming()] } }
    )
    assert.ok(isFinalizedGrant(grant))
    const cont = { url: grant.continue.uri, accessToken: grant.continue.access_token.value }
    await client.grant.cancel(cont)
    assert.equal((await introspect(issued(grant).value)).active, false)
    await untilNextSecond() // not a replay: a second cancel, refused as such
    await assert.rejects(
      client.grant.cancel(cont),
      (err: { status?: number }) => err.status === 401
    )
  })
})

describe('token management', () => {
  test('a chain of rotations: each new token is active, every older one dead at once', async () => {
    const grant = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [incoming()] } }
    )
    assert.ok(isFinalizedGrant(grant))
    let current = issued(grant)
    const old: string[] = []
    for (let i = 0; i < 4; i++) {
      const { access_token: next } = await client.token.rotate({
        url: current.manage,
        accessToken: current.value
      })
      assert.notEqual(next.value, current.value)
      assert.notEqual(next.manage, current.manage)
      assert.deepEqual(next.access, issued(grant).access)
      old.push(current.value)
      current = next
    }
    assert.equal((await introspect(current.value)).active, true)
    for (const value of old) assert.equal((await introspect(value)).active, false)
  })

  test('revoke: the token introspects inactive and can no longer be managed', async () => {
    const grant = await client.grant.request(
      { url: server.grantUrl },
      { access_token: { access: [incoming()] } }
    )
    assert.ok(isFinalizedGrant(grant))
    const args = { url: issued(grant).manage, accessToken: issued(grant).value }
    await client.token.revoke(args)
    assert.equal((await introspect(issued(grant).value)).active, false)
    await assert.rejects(
      client.token.rotate(args),
      (err: { status?: number; code?: string }) =>
        err.status === 401 && err.code === 'invalid_client'
    )
  })
})
