import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { assertTokenIssued } from '../helpers/gnap-assertions.js'
import {
  startWalletAddressServer,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { assertGnapError, createGrantFlows, type GrantFlows } from './support/grant-flows.js'

/**
 * Continuation around an interaction (RFC 9635 §5.1, §5.2; Rafiki behaviour §2.1 continue, §5):
 * which `interact_ref` is accepted, when polling is allowed, and the `wait` period.
 */

let wallets: WalletAddressServer
let server: TestServer
let flows: GrantFlows

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer({ WAIT_SECONDS: '0' })
  const client = wallets.addClient('shop', { authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  await server.close()
  await wallets.close()
})

describe('continuation rules', () => {
  test("another grant's interact_ref: 404 invalid_continuation", async () => {
    const a = await flows.requestInteractive()
    const b = await flows.requestInteractive()
    const { interactRef: refA } = await flows.approve(a)
    const { interactRef: refB } = await flows.approve(b)
    assertGnapError(
      await flows.continueGrant(a, { interact_ref: refB }),
      404,
      'invalid_continuation',
      'grant not found'
    )
    // Neither grant was spent by the attempt.
    assert.equal((await flows.continueGrant(a, { interact_ref: refA })).status, 200)
    assert.equal((await flows.continueGrant(b, { interact_ref: refB })).status, 200)
  })

  test('malformed interact_ref: 404 invalid_continuation', async () => {
    const pending = await flows.requestInteractive()
    await flows.approve(pending)
    // An empty reference is a poll (the Rust SDK's only way to poll): see sdk-clients.test.ts.
    for (const ref of ['not-a-uuid', randomUUID()]) {
      assertGnapError(
        await flows.continueGrant(pending, { interact_ref: ref }),
        404,
        'invalid_continuation',
        'grant not found'
      )
    }
  })

  test('a non-empty body without interact_ref: 401 invalid_request', async () => {
    const pending = await flows.requestInteractive({ finish: false })
    assertGnapError(
      await flows.continueGrant(pending, { foo: 'bar' }),
      401,
      'invalid_request',
      'missing interaction reference'
    )
  })

  test('polling a grant that has a finish method: 401 request_denied', async () => {
    const pending = await flows.requestInteractive()
    assertGnapError(
      await flows.continueGrant(pending),
      401,
      'request_denied',
      'grant cannot be polled'
    )
  })

  test('interact_ref before approval: 401 request_denied; after the IdP accepts, the token', async () => {
    const pending = await flows.requestInteractive()
    const s = await flows.startInteraction(pending.redirect)
    const ref = await flows.interactRefOf(s.id)
    assertGnapError(
      await flows.continueGrant(pending, { interact_ref: ref }),
      401,
      'request_denied',
      'grant interaction not approved'
    )
    assert.equal((await flows.idpChoose(s.id, s.nonce, 'accept')).status, 202)
    // Approval happens on the back channel; the browser's finish is not needed for the token.
    const cont = await flows.continueGrant(pending, { interact_ref: ref })
    assert.equal(cont.status, 200, cont.text)
    await assertTokenIssued(server, cont)
  })
})

/**
 * `wait` is judged on the database's clock against when the grant was last continued: the test
 * moves that moment back rather than sleeping, so that a slow moment of the machine can neither
 * let a too-early continuation through nor make the test wait.
 */
describe('wait (WAIT_SECONDS=30)', () => {
  let slow: TestServer
  let slowFlows: GrantFlows
  const waitPasses = () =>
    slow.services.db.query(
      "update grants set last_continued_at = last_continued_at - interval '31 seconds'"
    )
  before(async () => {
    slow = await startTestServer({ WAIT_SECONDS: '30' })
    const c = wallets.addClient('slow', { authServer: slow.grantUrl })
    slowFlows = createGrantFlows(slow, c, `${wallets.url}/alice`)
  })
  after(() => slow.close())

  test('too early a poll or continuation is too_fast; `wait` is 30 in pending answers', async () => {
    const polling = await slowFlows.requestInteractive({ finish: false })
    const finishable = await slowFlows.requestInteractive()
    assert.equal(polling.wait, 30)
    assert.equal(finishable.wait, 30)
    assertGnapError(
      await slowFlows.continueGrant(polling),
      400,
      'too_fast',
      'polled grant faster than "wait" period'
    )
    const { interactRef } = await slowFlows.approve(finishable)
    assertGnapError(
      await slowFlows.continueGrant(finishable, { interact_ref: interactRef }),
      400,
      'too_fast',
      'continued grant faster than "wait" period'
    )
    await waitPasses()
    const poll = await slowFlows.continueGrant(polling)
    assert.equal(poll.status, 200, poll.text)
    const body = poll.body as { continue: { wait?: number }; access_token?: unknown }
    assert.equal(body.continue.wait, 30)
    assert.equal(body.access_token, undefined)
    // The pending poll restarts the clock.
    assertGnapError(await slowFlows.continueGrant(polling), 400, 'too_fast')
    const cont = await slowFlows.continueGrant(finishable, { interact_ref: interactRef })
    assert.equal(cont.status, 200, cont.text)
    await assertTokenIssued(slow, cont)
    assert.equal((cont.body as { continue: { wait?: number } }).continue.wait, undefined)
  })
})
