import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { signedRequest } from '../helpers/signed-request.js'
import type { TestClient } from '../helpers/wallet-address-server.js'

/**
 * A client's key lifecycle through the API: a key added to its JWKS is accepted at once (one
 * refetch on the unknown kid), a stream of unknown kids does not make opas hammer the client's
 * host, and a key removed from the JWKS stops being accepted once the cached JWKS expires
 * (CLIENT_KEY_CACHE_TTL_SECONDS).
 */

// The server's clock runs `skew` ahead of the real one: the test moves it past the cache's
// lifetime instead of sleeping, and a slow moment of the machine cannot expire the cache early.
let skew = 0
let world: ServerWithClient
before(async () => {
  world = await startServerWithClient(
    { CLIENT_KEY_CACHE_TTL_SECONDS: '60' },
    { now: () => Date.now() + skew }
  )
})
after(() => world.close())

let n = 0
function grant(signer: TestClient) {
  return signedRequest(world.server.grantUrl, {
    client: signer,
    body: {
      client: world.app.walletAddress,
      access_token: {
        access: [{ type: 'quote', actions: ['create'], identifier: `${world.wallets.url}/k${++n}` }]
      }
    }
  })
}

const jwksPath = () => `${new URL(world.app.walletAddress).pathname}/jwks.json`

describe('client key lifecycle', () => {
  test('a new key is accepted at once; unknown kids then cost no fetch; a removed key dies with the cache', async () => {
    const { wallets, app } = world
    assert.equal((await grant(app)).status, 200)
    const fetchedOnce = wallets.hits(jwksPath())
    assert.equal(fetchedOnce, 1)

    // Rotated in by the client: the first request signed with it makes opas refetch the JWKS.
    const added = wallets.addKey('app')
    const withNew = await grant(added)
    assert.equal(withNew.status, 200, withNew.text)
    assert.equal(wallets.hits(jwksPath()), fetchedOnce + 1)

    // Made-up kids right after: refused, and the refetch budget (one per 10 s) is spent.
    for (let i = 0; i < 20; i++) {
      const res = await grant({ ...app, keyId: `made-up-${i}` })
      assertGnapError(res, 400, 'invalid_client', 'could not determine client')
    }
    assert.equal(wallets.hits(jwksPath()), fetchedOnce + 1, 'no fetch per unknown kid')

    // Removed by the client: still accepted from the cached JWKS, refused once it expires.
    wallets.removeKey('app', app.keyId)
    assert.equal((await grant(app)).status, 200, 'cached for CLIENT_KEY_CACHE_TTL_SECONDS')
    skew += 61_000
    const removed = await grant(app)
    assertGnapError(removed, 400, 'invalid_client', 'could not determine client')
    assert.equal((await grant(added)).status, 200, 'the remaining key still works')
  })
})
