import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertGnapError, countRows } from '../helpers/gnap-assertions.js'
import { driveInteraction, interactRefFor } from '../helpers/interaction-driver.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { postJson, signedRequest } from '../helpers/signed-request.js'

/**
 * What a token carries beyond Rafiki's fields: RFC 9635 §2.1.1's flags (refused) and label
 * (echoed in every token response of the grant, §3.2.1), and RFC 9767 §3.3's introspection
 * fields (`iss`, `iat`, `exp`, `key`, `flags`).
 */

let world: ServerWithClient
before(async () => {
  world = await startServerWithClient({ ACCESS_TOKEN_EXPIRY_SECONDS: '600' })
})
after(() => world.close())

const incoming = { type: 'incoming-payment', actions: ['create', 'read'] }

interface TokenAnswer {
  access_token: { value: string; manage: string; label?: string }
  continue: { uri: string; access_token: { value: string } }
  interact?: { redirect: string }
}

async function grant(accessToken: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return signedRequest(world.server.grantUrl, {
    client: world.app,
    body: {
      client: world.app.walletAddress,
      access_token: { access: [incoming], ...accessToken },
      ...extra
    }
  })
}

const introspect = async (token: string) =>
  postJson(`${world.server.introspectionUrl}/`, { access_token: token })

describe('RFC 9635 §2.1.1: access token flags', () => {
  const refusals: [string, unknown[], RegExp][] = [
    [
      'bearer (Open Payments tokens are bound to the client key)',
      ['bearer'],
      /bearer tokens are not supported/
    ],
    ['a flag given twice (§2.1.1: MUST be invalid_flag)', ['bearer', 'bearer'], /more than once/],
    ['durable, a response flag', ['durable'], /unsupported access token flag: "durable"/],
    ['an unknown flag', ['split'], /unsupported access token flag: "split"/]
  ]
  for (const [what, flags, description] of refusals) {
    test(`${what}: 400 invalid_flag, nothing written`, async () => {
      const grants = await countRows(world.server, 'grants')
      assertGnapError(await grant({ flags }), 400, 'invalid_flag', description)
      assert.equal(await countRows(world.server, 'grants'), grants)
    })
  }

  test('no flags (an empty list) is a plain grant', async () => {
    const res = await grant({ flags: [] })
    assert.equal(res.status, 200, res.text)
  })
})

describe('RFC 9635 §3.2.1: the label is echoed in every token response of the grant', () => {
  test('issued at once, then rotated', async () => {
    const res = await grant({ label: 'checkout-42' })
    assert.equal(res.status, 200, res.text)
    const issued = (res.body as TokenAnswer).access_token
    assert.equal(issued.label, 'checkout-42')
    const rotated = await signedRequest(issued.manage, {
      method: 'POST',
      client: world.app,
      token: issued.value
    })
    assert.equal(rotated.status, 200, rotated.text)
    assert.equal((rotated.body as TokenAnswer).access_token.label, 'checkout-42')
  })

  test('issued at continuation, after the interaction', async () => {
    const res = await signedRequest(world.server.grantUrl, {
      client: world.app,
      body: {
        client: world.app.walletAddress,
        access_token: {
          access: [
            {
              type: 'outgoing-payment',
              actions: ['create', 'read'],
              identifier: `${world.wallets.url}/alice`,
              limits: { debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 } }
            }
          ],
          label: 'subscription'
        },
        interact: { start: ['redirect'] }
      }
    })
    assert.equal(res.status, 200, res.text)
    const pending = res.body as TokenAnswer
    const { finish } = await driveInteraction(world.server, pending.interact!.redirect, 'accept')
    assert.ok(finish.status < 400, finish.text)
    const continued = await signedRequest(pending.continue.uri, {
      client: world.app,
      token: pending.continue.access_token.value,
      body: { interact_ref: await interactRefFor(world.server, pending.continue.uri) }
    })
    assert.equal(continued.status, 200, continued.text)
    assert.equal((continued.body as TokenAnswer).access_token.label, 'subscription')
  })

  test('no label asked, none answered (as Rafiki answers)', async () => {
    const res = await grant({})
    assert.equal(res.status, 200, res.text)
    assert.ok(!('label' in (res.body as TokenAnswer).access_token))
  })

  test('a label is a non-empty string of at most 256 characters', async () => {
    assertGnapError(await grant({ label: '' }), 400, 'invalid_request')
    assertGnapError(await grant({ label: 'x'.repeat(257) }), 400, 'invalid_request')
    assertGnapError(await grant({ label: 42 }), 400, 'invalid_request')
  })
})

describe('RFC 9767 §3.3: introspection fields', () => {
  test('an active token: iss, iat, exp, the key it is bound to, no flags; not cached', async () => {
    const before = Math.floor(Date.now() / 1000)
    const res = await grant({})
    const after = Math.ceil(Date.now() / 1000)
    const token = (res.body as TokenAnswer).access_token.value
    const answer = await introspect(token)
    assert.equal(answer.status, 200, answer.text)
    assert.equal(answer.headers.get('cache-control'), 'no-store')
    const body = answer.body as Record<string, unknown>
    // The grant endpoint the client called (the tenant's, as its wallet address advertises).
    assert.equal(body.iss, world.server.grantUrl)
    const iat = body.iat as number
    assert.ok(Number.isInteger(iat) && iat >= before - 1 && iat <= after, `iat ${iat}`)
    assert.equal(body.exp, iat + 600)
    // The key that signed the grant request, by its kid (RFC 9635 §7.1: jwk with alg and kid).
    const { kid, alg, kty, crv, x } = world.app.publicJwk
    assert.deepEqual(body.key, { proof: 'httpsig', jwk: { kid, alg, kty, crv, x } })
    assert.deepEqual(body.flags, [])
    // Rafiki's fields, unchanged.
    assert.equal(body.active, true)
    assert.deepEqual(body.client, { walletAddress: world.app.walletAddress })
  })

  test('a directed-identity client: the key is its own JWK', async () => {
    const { kid, alg, kty, crv, x } = world.app.publicJwk
    const jwk = { kid, alg, kty, crv, x }
    const res = await signedRequest(world.server.grantUrl, {
      client: world.app,
      body: { client: { jwk }, access_token: { access: [incoming] } }
    })
    assert.equal(res.status, 200, res.text)
    const answer = await introspect((res.body as TokenAnswer).access_token.value)
    assert.deepEqual((answer.body as { key: unknown }).key, { proof: 'httpsig', jwk })
  })

  test('an inactive token is `active: false` and nothing else (§3.3)', async () => {
    const answer = await introspect('no-such-token')
    assert.deepEqual(answer.body, { active: false })
    assert.equal(answer.headers.get('cache-control'), 'no-store')
  })

  test('a grant made before the key was recorded has no `key`, and is still active', async () => {
    const res = await grant({})
    const token = (res.body as TokenAnswer).access_token.value
    await world.server.services.db.query(
      `update grants set client_key = null where id = (
         select grant_id from access_tokens where value_hash = sha256($1::text::bytea))`,
      [token]
    )
    const body = (await introspect(token)).body as Record<string, unknown>
    assert.equal(body.active, true)
    assert.ok(!('key' in body))
  })
})
