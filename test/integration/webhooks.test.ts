import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { createGrantFlows, type GrantFlows } from './support/grant-flows.js'
import { metricSample } from '../helpers/metrics.js'

/**
 * Issue 28: the audit trail's events as signed webhooks, in Rafiki's format. A local receiver
 * checks each signature with Rafiki's own algorithm; the events are those a grant's client and
 * the IdP cause, through real requests.
 */

const SECRET = 'webhook-secret-of-the-operator-long-enough'

let wallets: WalletAddressServer
let receiver: WebhookReceiver
let server: TestServer
let client: TestClient
let flows: GrantFlows
before(async () => {
  wallets = await startWalletAddressServer()
  receiver = await startWebhookReceiver(SECRET)
  server = await startTestServer({
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SIGNATURE_SECRET: SECRET,
    WEBHOOK_RETRY_DELAY_MS: '100'
  })
  client = wallets.addClient('webhook-app', { authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  await server?.close()
  await receiver?.close()
  await wallets?.close()
})

const ofGrant = (grantId: string) => (received: typeof receiver.received) =>
  received.filter((w) => w.data.grantId === grantId)

describe('a grant told to the wallet', () => {
  test('issued at once, rotated, revoked: three webhooks in order, signed as Rafiki signs', async () => {
    const { token } = await flows.requestNonInteractive()
    const grantId = (await flows.introspect(token.value)).grant!
    const rotated = await flows.rotate(token)
    assert.equal(rotated.status, 200, rotated.text)
    const next = (rotated.body as { access_token: { value: string; manage: string } }).access_token
    assert.equal((await flows.revoke(next)).status, 204)

    await receiver.waitFor((r) => ofGrant(grantId)(r).length >= 3)
    const hooks = ofGrant(grantId)(receiver.received)
    assert.deepEqual(
      hooks.map((w) => w.type),
      ['grant.issued', 'access_token.rotated', 'access_token.revoked']
    )
    for (const hook of hooks) {
      assert.ok(hook.signatureValid, `${hook.type}: Rafiki's check accepts the signature`)
      assert.match(String(hook.headers['rafiki-signature']), /^t=\d{13}, v1=[0-9a-f]{64}$/)
      assert.equal(hook.headers['content-type'], 'application/json')
      assert.match(hook.id, /^[0-9a-f-]{36}$/)
      assert.deepEqual(Object.keys(JSON.parse(hook.raw)).sort(), ['data', 'id', 'type'])
      // Never a token: neither the one issued nor the one rotated to.
      assert.ok(!hook.raw.includes(token.value) && !hook.raw.includes(next.value))
    }
    const issued = hooks[0]!.data
    assert.equal(issued.grantId, grantId)
    assert.equal(issued.tenantId, server.tenantId)
    assert.equal(issued.client, client.walletAddress)
    assert.equal(issued.state, 'FINALIZED')
    assert.equal(issued.finalizationReason, 'ISSUED')
    assert.deepEqual(issued.actor, { kind: 'client', id: client.walletAddress })
    assert.deepEqual(issued.access, [{ type: 'incoming-payment', actions: ['create', 'read'] }])
    assert.equal(new Set(hooks.map((w) => w.id)).size, 3, 'each webhook its own id')
  })

  test('an interactive grant: approved by the IdP, then issued at the continuation', async () => {
    const pending = await flows.requestInteractive()
    const approved = await flows.approve(pending)
    const continued = await flows.continueGrant(pending, { interact_ref: approved.interactRef })
    assert.equal(continued.status, 200, continued.text)
    await receiver.waitFor((r) => ofGrant(approved.grantId)(r).length >= 2)
    const hooks = ofGrant(approved.grantId)(receiver.received)
    assert.deepEqual(
      hooks.map((w) => [w.type, w.data.state, (w.data.actor as { kind: string }).kind]),
      [
        ['grant.approved', 'APPROVED', 'idp'],
        ['grant.issued', 'FINALIZED', 'client']
      ]
    )
    const access = hooks[0]!.data.access as Array<{ type: string; limits?: unknown }>
    assert.equal(access[0]!.type, 'outgoing-payment')
    assert.ok(access[0]!.limits, 'the limits granted')
  })

  test('a rejected grant, and a grant revoked by its client', async () => {
    const rejected = await flows.requestInteractive()
    const started = await flows.startInteraction(rejected.redirect)
    const rejectedId = await flows.grantIdOf(started)
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'reject')).status, 202)

    const { grant } = await flows.requestNonInteractive()
    assert.equal((await flows.cancelGrant(grant)).status, 204)

    await receiver.waitFor((r) =>
      r.some((w) => w.type === 'grant.rejected' && w.data.grantId === rejectedId)
    )
    const rejectedHook = receiver.received.find((w) => w.data.grantId === rejectedId)!
    assert.equal(rejectedHook.data.finalizationReason, 'REJECTED')
    await receiver.waitFor((r) => r.some((w) => w.type === 'grant.revoked'))
    const revoked = receiver.received.find((w) => w.type === 'grant.revoked')!
    assert.equal(revoked.data.finalizationReason, 'REVOKED')
    assert.ok(revoked.signatureValid)
  })
})

describe('delivery', () => {
  test('a receiver that fails is retried with the same id, and the grant’s later events wait behind it', async () => {
    let failuresLeft = 2
    receiver.answerWith((w) => (w.type === 'grant.issued' && failuresLeft-- > 0 ? 500 : 200))
    try {
      const { token } = await flows.requestNonInteractive()
      const grantId = (await flows.introspect(token.value)).grant!
      assert.equal((await flows.revoke(token)).status, 204)
      await receiver.waitFor((r) =>
        ofGrant(grantId)(r).some((w) => w.type === 'access_token.revoked')
      )
      const hooks = ofGrant(grantId)(receiver.received)
      assert.deepEqual(
        hooks.map((w) => [w.type, w.answered]),
        [
          ['grant.issued', 500],
          ['grant.issued', 500],
          ['grant.issued', 200],
          ['access_token.revoked', 200]
        ]
      )
      assert.equal(new Set(hooks.slice(0, 3).map((w) => w.id)).size, 1, 'one id on every attempt')
      const [record] = await server.services.webhooks
        .list({ grantId }, { limit: 10 })
        .then((d) => d.filter((x) => x.type === 'grant.issued'))
      assert.equal(record!.state, 'delivered')
      assert.equal(record!.attempts, 3)
      assert.equal(record!.lastStatus, 200)
      // The metrics count the attempts by outcome, and nothing waits once all is delivered.
      const metrics = await (await fetch(`${server.adminUrl}/metrics`)).text()
      const value = (series: string) => metricSample(metrics, series)
      assert.ok(value('opas_webhook_deliveries_total{outcome="failed"}')! >= 2, metrics)
      assert.ok(value('opas_webhook_deliveries_total{outcome="delivered"}')! >= 2)
      assert.equal(value('opas_webhook_queue{state="pending"}'), 0)
    } finally {
      receiver.answerWith(() => 200)
    }
  })
})
