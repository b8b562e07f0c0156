import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, test } from 'node:test'
import type { DeliveryView } from '../../src/webhook/webhook-service.js'
import { consoleClient } from '../helpers/console-client.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { addTenant } from '../helpers/tenants.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { createGrantFlows, type GrantFlows } from './support/grant-flows.js'

/**
 * The console's Webhooks page (issue 28): the deliveries in words (delivered, waiting for a
 * retry with the last error, queued, given up), filtered by state and grant; "retry now" sends a
 * webhook again with its id; a tenant sees and retries only those to its own webhook URL. A
 * retry waits ten minutes here, so only "retry now" tries a failed webhook again: no test races
 * the deliverer's timer, each waits for what a receiver got or what the service records.
 */

const SECRET = 'webhook-secret-of-the-operator-long-enough'
const TENANT_SECRET = 'webhook-secret-of-the-tenant-long-enough'

let wallets: WalletAddressServer
let operatorReceiver: WebhookReceiver
let tenantReceiver: WebhookReceiver
let server: TestServer
let other: TestServer & { apiSecret: string }
/** A client whose `grant.issued` webhooks the receivers refuse (503). */
let failing: TestClient
let flows: GrantFlows
let failingFlows: GrantFlows
let otherFlows: GrantFlows
let otherFailingFlows: GrantFlows
/** What the receivers answer: 503 to the failing clients' `grant.issued`, else 200. */
let refuse: (w: { type: string; data: Record<string, unknown> }) => number

before(async () => {
  wallets = await startWalletAddressServer()
  operatorReceiver = await startWebhookReceiver(SECRET)
  tenantReceiver = await startWebhookReceiver(TENANT_SECRET)
  server = await startTestServer({
    WEBHOOK_URL: operatorReceiver.url,
    WEBHOOK_SIGNATURE_SECRET: SECRET,
    WEBHOOK_RETRY_DELAY_MS: '600000',
    WEBHOOK_MAX_RETRIES: '1'
  })
  other = await addTenant(server, {
    consentUrl: 'http://127.0.0.1:9/other/consent',
    secret: 'other-tenant-idp-secret-long-enough'
  })
  const updated = await server.services.tenants.update(
    other.tenantId,
    { webhookUrl: tenantReceiver.url, webhookSecret: TENANT_SECRET },
    { actor: { kind: 'service-api' } }
  )
  assert.equal(updated.outcome, 'updated')
  const app = wallets.addClient('webhook-page-app', { authServer: server.grantUrl })
  failing = wallets.addClient('webhook-page-failing', { authServer: server.grantUrl })
  const otherApp = wallets.addClient('webhook-page-other', { authServer: other.grantUrl })
  const otherFailing = wallets.addClient('webhook-page-other-failing', {
    authServer: other.grantUrl
  })
  flows = createGrantFlows(server, app, `${wallets.url}/alice`)
  failingFlows = createGrantFlows(server, failing, `${wallets.url}/alice`)
  otherFlows = createGrantFlows(other, otherApp, `${wallets.url}/bob`)
  otherFailingFlows = createGrantFlows(other, otherFailing, `${wallets.url}/bob`)
  refuse = (w) =>
    w.type === 'grant.issued' &&
    [failing.walletAddress, otherFailing.walletAddress].includes(String(w.data.client))
      ? 503
      : 200
  operatorReceiver.answerWith(refuse)
  tenantReceiver.answerWith(refuse)
})
after(async () => {
  await server?.close()
  await operatorReceiver?.close()
  await tenantReceiver?.close()
  await wallets?.close()
})

/** Polls `probe` until it returns something (the deliverer writes after it sends). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const found = await probe()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`not within 20 s: ${what}`)
    await sleep(50)
  }
}

/** A grant's delivery of `type`, once it is recorded and `holds`. */
const deliveryOf = (
  grantId: string,
  type: string,
  holds: (d: DeliveryView) => boolean = () => true
) =>
  until(`${type} of ${grantId}`, async () => {
    const found = await server.services.webhooks.list({ grantId }, { limit: 10 })
    return found.find((d) => d.type === type && holds(d))
  })

async function grantOf(grantFlows: GrantFlows) {
  const issued = await grantFlows.requestNonInteractive()
  const grantId = (await grantFlows.introspect(issued.token.value)).grant!
  return { ...issued, grantId }
}

async function signedIn(tenantId: string, apiSecret: string) {
  const browser = consoleClient(server.adminUrl)
  const res = await browser.signIn(tenantId, apiSecret)
  assert.equal(res.status, 303, res.text)
  return browser
}
const asOperator = () => signedIn(server.tenantId, server.env.ADMIN_API_SECRET!)
const asOther = () => signedIn(other.tenantId, other.apiSecret)

async function page(browser: ReturnType<typeof consoleClient>, query = '') {
  const res = await browser.get(`/webhooks${query}`)
  assert.equal(res.status, 200, res.text)
  return res.text
}

/** The list item of delivery `id` on a page. */
function rowOf(html: string, id: string): string {
  const at = html.indexOf(`Webhook <code>${id}</code>`)
  assert.ok(at >= 0, `delivery ${id} is listed`)
  return html.slice(html.lastIndexOf('<li>', at), html.indexOf('</li>', at))
}

const retryOf = (
  browser: ReturnType<typeof consoleClient>,
  id: string,
  form: Record<string, string> = {}
) => browser.formToken().then((csrf) => browser.post(`/webhooks/${id}/retry`, { csrf, ...form }))

describe('the deliveries in words', () => {
  let delivered: DeliveryView
  let waiting: DeliveryView
  let queued: DeliveryView

  before(async () => {
    const ok = await grantOf(flows)
    delivered = await deliveryOf(ok.grantId, 'grant.issued', (d) => d.state === 'delivered')
    const bad = await grantOf(failingFlows)
    assert.equal((await failingFlows.revoke(bad.token)).status, 204)
    waiting = await deliveryOf(bad.grantId, 'grant.issued')
    queued = await deliveryOf(bad.grantId, 'access_token.revoked')
  })

  test('delivered, waiting for a retry with its error, and queued behind it', async () => {
    const html = await page(await asOperator())
    assert.match(html, /<a href="\/webhooks" aria-current="page">Webhooks<\/a>/)
    assert.match(html, /\d+ pending, \d+ delivered, \d+ given up; the oldest event not yet/)

    const ok = rowOf(html, delivered.id)
    assert.match(ok, /grant\.issued/)
    assert.match(ok, /Delivered at \d+ \w+ \d{4}, [\d:]+ UTC \(after 1 attempt\)/)
    assert.match(ok, new RegExp(`<a href="/grants/${delivered.grantId}">`))
    assert.match(ok, /To WEBHOOK_URL/)
    assert.doesNotMatch(ok, /Retry now/)

    const bad = rowOf(html, waiting.id)
    assert.match(bad, /Waiting for a retry at [^<]+ UTC \(1 attempt so far\)/)
    assert.match(bad, /Last attempt at [^<]+: the receiver answered 503, not 200 \(status 503\)/)
    assert.match(bad, new RegExp(`action="/webhooks/${waiting.id}/retry"`))

    const behind = rowOf(html, queued.id)
    assert.match(behind, /Queued behind an earlier event of its grant/)
    assert.doesNotMatch(behind, /Retry now/)
  })

  test('filtered by state and by grant; a filter it cannot read is a 400 page', async () => {
    const browser = await asOperator()
    const deliveredOnly = await page(browser, '?state=delivered')
    assert.ok(deliveredOnly.includes(delivered.id))
    assert.ok(!deliveredOnly.includes(waiting.id))
    const oneGrant = await page(browser, `?grant=${String(waiting.grantId).toUpperCase()}`)
    assert.ok(oneGrant.includes(waiting.id) && oneGrant.includes(queued.id))
    assert.ok(!oneGrant.includes(delivered.id))
    // The `before` cursor: the older deliveries alone, with a link back to the newest.
    const older = await page(browser, `?before=${waiting.eventId}`)
    assert.ok(older.includes(delivered.id) && !older.includes(waiting.id))
    assert.ok(!older.includes(queued.id))
    assert.match(older, /<a href="\/webhooks">Newest webhooks<\/a>/)
    for (const query of ['?state=lost', '?grant=%3Cscript%3E', '?before=abc']) {
      const res = await browser.get(`/webhooks${query}`)
      assert.equal(res.status, 400, query)
      assert.match(res.text, /class="error" role="alert"/)
      assert.doesNotMatch(res.text, /<script>/, 'what was typed is escaped')
    }
  })

  test('retry now: given up after a second refusal, then sent again with its id and delivered', async () => {
    const browser = await asOperator()
    const pressed = await retryOf(browser, waiting.id)
    assert.equal(pressed.status, 303, pressed.text)
    const ofIssued = () =>
      operatorReceiver.received.filter((w) => w.id === waiting.id && w.type === 'grant.issued')
    await operatorReceiver.waitFor(() => ofIssued().length >= 2)
    const givenUp = await deliveryOf(
      String(waiting.grantId),
      'grant.issued',
      (d) => d.state === 'failed'
    )
    assert.equal(givenUp.attempts, 2)
    const html = await page(browser, '?state=failed')
    const row = rowOf(html, waiting.id)
    assert.match(row, /Given up after 2 attempts\./)
    assert.match(row, /\(status 503\)/)
    // What waited behind it goes once it is given up.
    await deliveryOf(String(queued.grantId), 'access_token.revoked', (d) => {
      return d.state === 'delivered'
    })

    operatorReceiver.answerWith(() => 200)
    try {
      await retriedAndDelivered(browser)
    } finally {
      operatorReceiver.answerWith(refuse)
    }
  })

  async function retriedAndDelivered(browser: ReturnType<typeof consoleClient>) {
    const ofIssued = () =>
      operatorReceiver.received.filter((w) => w.id === waiting.id && w.type === 'grant.issued')
    const again = await retryOf(browser, waiting.id, { state: 'failed' })
    assert.equal(again.status, 303, again.text)
    assert.equal(again.headers.get('location'), '/webhooks?state=failed&retried=1')
    const back = await page(browser, '?state=failed&retried=1')
    assert.match(back, /class="flash" role="status">Retry asked/)
    await operatorReceiver.waitFor(() => ofIssued().some((w) => w.answered === 200))
    assert.deepEqual(
      ofIssued().map((w) => w.answered),
      [503, 503, 200],
      'one id on every attempt, the console’s included'
    )
    await deliveryOf(String(waiting.grantId), 'grant.issued', (d) => d.state === 'delivered')
    const now = rowOf(await page(browser, `?grant=${waiting.grantId}`), waiting.id)
    assert.match(now, /Delivered at [^<]+ \(after 1 attempt\)/)
    // Who asked is in the audit trail, with the webhook and its event.
    const asked = await server.services.events.list(
      { typeIn: ['webhook.retried'], grantId: String(waiting.grantId) },
      { limit: 10 }
    )
    assert.ok(asked.length >= 1)
    assert.equal(asked[0]!.actorKind, 'console')
    assert.equal(asked[0]!.details.webhookId, waiting.id)
  }

  test('what cannot be retried is a plain page, never a 500', async () => {
    const browser = await asOperator()
    const done = await retryOf(browser, delivered.id)
    assert.equal(done.status, 409)
    assert.match(done.text, /already delivered\. Nothing was changed\./)
    for (const id of ['not-a-uuid', '5f0c2d1e-3a4b-4c5d-8e6f-7a8b9c0d1e2f']) {
      const unknown = await retryOf(browser, id)
      assert.equal(unknown.status, 404, id)
      assert.match(unknown.text, /no webhook with this id that you may see/)
    }
    const forged = await browser.post(`/webhooks/${delivered.id}/retry`, { csrf: 'forged' })
    assert.equal(forged.status, 403)
  })
})

describe('whose webhooks', () => {
  test('a tenant sees and retries those to its own URL, never the operator’s', async () => {
    const own = await grantOf(otherFlows)
    const ownDelivery = await deliveryOf(
      own.grantId,
      'grant.issued',
      (d) => d.state === 'delivered'
    )
    assert.equal(ownDelivery.tenantId, other.tenantId)
    const ownFailing = await grantOf(otherFailingFlows)
    const ownWaiting = await deliveryOf(ownFailing.grantId, 'grant.issued')
    assert.equal(ownWaiting.state, 'pending')
    const operators = await grantOf(failingFlows)
    const theirs = await deliveryOf(operators.grantId, 'grant.issued')
    assert.equal(theirs.tenantId, null)

    const browser = await asOther()
    const html = await page(browser)
    assert.match(html, /your tenant&#39;s webhook URL/)
    assert.doesNotMatch(html, /\d+ pending, \d+ delivered/, 'no server-wide counts for a tenant')
    assert.match(rowOf(html, ownDelivery.id), /Delivered at/)
    assert.doesNotMatch(rowOf(html, ownDelivery.id), /To WEBHOOK_URL|To tenant/)
    assert.ok(!html.includes(theirs.id), "the operator's webhooks are not listed")
    assert.match(await page(browser, `?grant=${operators.grantId}`), /No webhooks match/)

    // A forged form for the operator's delivery (with this session's own token) changes nothing.
    const forged = await retryOf(browser, theirs.id)
    assert.equal(forged.status, 404)
    assert.match(forged.text, /no webhook with this id that you may see/)
    const unchanged = await server.services.webhooks.find(theirs.id)
    assert.deepEqual(unchanged, theirs)

    // Its own is retried: its receiver gets the same id again.
    const pressed = await retryOf(browser, ownWaiting.id)
    assert.equal(pressed.status, 303, pressed.text)
    await tenantReceiver.waitFor(
      (r) => r.filter((w) => w.id === ownWaiting.id && w.signatureValid).length >= 2
    )

    // The operator sees the tenant's, and to whom it went.
    const operatorView = await page(await asOperator(), `?grant=${own.grantId}`)
    assert.match(
      rowOf(operatorView, ownDelivery.id),
      new RegExp(`To tenant <code>${other.tenantId}</code>'s webhook URL`)
    )
  })
})
