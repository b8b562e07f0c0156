import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { signedRequest } from '../helpers/signed-request.js'
import type { TestClient } from '../helpers/wallet-address-server.js'
import { createGrantFlows, nonInteractiveGrantBody } from './support/grant-flows.js'

/**
 * A client is its wallet address, whatever its spelling (RFC 3986 §6.2.2): one client, one
 * rate-limit budget, one stored address, which the operators' search finds by any spelling; the
 * consent screen and the IdP see that one address.
 */

let world: ServerWithClient
/** The app's address in four other spellings, each signed for with the app's own key. */
let spellings: TestClient[]

before(async () => {
  world = await startServerWithClient({ RATE_LIMIT_PER_CLIENT: '5', WAIT_SECONDS: '0' })
  const { url } = world.wallets
  const wa = world.app.walletAddress
  assert.equal(wa, `${url}/app`)
  spellings = [`${url}/%61pp`, wa.replace('http://', 'HTTP://'), `${wa}/`, `${url}/./app`].map(
    (walletAddress) => ({ ...world.app, walletAddress })
  )
})
after(() => world.close())

describe("a client's wallet address in its one spelling", () => {
  test('four spellings are one client: one stored address, one budget, found by any spelling', async () => {
    const { server, app } = world
    for (const client of spellings) {
      const res = await signedRequest(server.grantUrl, {
        client,
        body: nonInteractiveGrantBody(client)
      })
      assert.equal(res.status, 200, `${client.walletAddress}: ${res.text}`)
    }
    const { rows } = await server.services.db.query<{ client: string }>(
      'select distinct client from grants'
    )
    assert.deepEqual(rows, [{ client: app.walletAddress }])

    // RATE_LIMIT_PER_CLIENT=5: the four spent four of the one budget.
    const fifth = await signedRequest(server.grantUrl, {
      client: app,
      body: nonInteractiveGrantBody(app)
    })
    assert.equal(fifth.status, 200, fifth.text)
    const sixth = await signedRequest(server.grantUrl, {
      client: spellings[0]!,
      body: nonInteractiveGrantBody(spellings[0]!)
    })
    assertGnapError(sixth, 429, 'too_many_attempts', /client/)

    // The operators' search (the console's, the admin API's, the CLI's: one service call).
    for (const query of [app.walletAddress, ...spellings.map((s) => s.walletAddress)]) {
      const found = await server.services.grantOperations.page(
        {
          actor: { kind: 'cli', user: 'test', host: 'test' },
          scope: 'all',
          log: server.services.logger
        },
        { walletAddress: query },
        { order: 'DESC', size: 20 }
      )
      assert.equal(found.rows.length, 5, query)
    }
  })
})

describe('the consent side sees the one spelling', () => {
  let other: ServerWithClient
  before(async () => {
    other = await startServerWithClient({ WAIT_SECONDS: '0' })
  })
  after(() => other.close())

  test('the redirect, the IdP start and the IdP back channel name the normal address', async () => {
    const { server, wallets, app } = other
    const client = { ...app, walletAddress: `${wallets.url.toUpperCase()}/./%61pp/` }
    const flows = createGrantFlows(server, client, `${wallets.url}/alice`)
    const pending = await flows.requestInteractive()
    assert.equal(new URL(pending.redirect).searchParams.get('clientUri'), app.walletAddress)
    const started = await flows.startInteraction(pending.redirect)
    assert.equal(started.location.searchParams.get('clientUri'), app.walletAddress)
    const details = await flows.idpDetails(started.id, started.nonce)
    assert.equal(details.status, 200, details.text)
    const body = details.body as { client: { walletAddress: string } }
    assert.equal(body.client.walletAddress, app.walletAddress)
  })
})
