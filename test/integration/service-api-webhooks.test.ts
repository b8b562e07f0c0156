import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { authServiceClient, type ServiceAnswer, type TenantBody } from '../helpers/tenants.js'
import type { TestServer } from '../helpers/test-server.js'
import {
  rafikiVerify,
  startWebhookReceiver,
  type WebhookReceiver
} from '../helpers/webhook-receiver.js'
import { createGrantFlows } from './support/grant-flows.js'

/**
 * A tenant's own webhook receiver through the service API (opas's own fields, which Rafiki's
 * backend never sends): `webhookUrl` set, changed and cleared, `webhookSecret` given or
 * generated and answered once, never read back; and the tenant's events signed with it.
 */

let world: ServerWithClient
let api: ReturnType<typeof authServiceClient>
let receiver: WebhookReceiver

before(async () => {
  // No WEBHOOK_URL: only the tenants' own receivers get webhooks.
  world = await startServerWithClient({ WEBHOOK_RETRY_DELAY_MS: '100' })
  api = authServiceClient(world.server.serviceUrl)
  receiver = await startWebhookReceiver('not-the-tenant-secret-of-this-receiver')
})
after(async () => {
  await world.close()
  await receiver.close()
})

const webhookUrl = 'https://wallet.example/webhooks'
const newTenant = () => ({ id: randomUUID(), apiSecret: `api-secret-${randomUUID()}` })
const webhookOf = (id: string) => world.server.services.tenants.webhookOf(id)

function assertInvalid(res: ServiceAnswer, description: string) {
  assert.equal(res.status, 400, JSON.stringify(res.body))
  assert.deepEqual((res.body as { error: unknown }).error, { code: 'invalid_request', description })
}

/** A generated secret answered once: 256 random bits, not cached. */
function generatedSecret(res: ServiceAnswer, status: number): string {
  assert.equal(res.status, status, JSON.stringify(res.body))
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const { webhookSecret } = res.body as { webhookSecret?: string }
  assert.match(webhookSecret ?? '', /^[\w-]{43}$/)
  return webhookSecret!
}

describe("a tenant's webhook receiver", () => {
  test('created with a URL: its secret generated and answered once (201), never read back', async () => {
    const tenant = newTenant()
    const created = await api.create({ ...tenant, webhookUrl })
    const secret = generatedSecret(created, 201)
    assert.deepEqual(created.body, { id: tenant.id, webhookSecret: secret }, 'no API secret')
    const shown = await api.get(tenant.id)
    assert.equal(shown.status, 200)
    assert.deepEqual(shown.body, {
      id: tenant.id,
      idpConsentUrl: null,
      hasIdpSecret: false,
      webhookUrl,
      hasWebhookSecret: true,
      idpSecret: null
    })
    assert.deepEqual(await webhookOf(tenant.id), { url: webhookUrl, secret })
    const [event] = await world.server.services.events.list(
      { tenantId: tenant.id, typeIn: ['tenant.created'] },
      { limit: 1 }
    )
    assert.equal(event!.details.webhookSecret, 'generated')
    assert.ok(!JSON.stringify(event!.details).includes(secret), 'never the value')
  })

  test('with neither secret given, both are generated and answered together', async () => {
    const id = randomUUID()
    // No API secret (Rafiki's backend always sends one): opas generates it.
    const created = await api.create({ id, webhookUrl } as TenantBody)
    const webhookSecret = generatedSecret(created, 201)
    const { apiSecret } = created.body as { apiSecret: string }
    assert.deepEqual(created.body, { id, apiSecret, webhookSecret })
    assert.equal(await world.server.services.tenants.apiSecretOf(id), apiSecret)
  })

  test('a secret given is kept (204, nothing answered); a URL changed keeps its secret', async () => {
    const tenant = newTenant()
    const webhookSecret = `webhook-secret-${randomUUID()}`
    assert.equal((await api.create({ ...tenant, webhookUrl, webhookSecret })).status, 204)
    assert.deepEqual(await webhookOf(tenant.id), { url: webhookUrl, secret: webhookSecret })
    const moved = 'https://wallet.example/moved'
    const changed = await api.update(tenant.id, { webhookUrl: moved })
    assert.equal(changed.status, 204)
    assert.deepEqual(await webhookOf(tenant.id), { url: moved, secret: webhookSecret })
  })

  test('PATCH: a URL set gets a secret (200, once); a secret set is 204; null secret is a new one; null URL clears both', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    const first = generatedSecret(await api.update(tenant.id, { webhookUrl }), 200)
    assert.deepEqual(await webhookOf(tenant.id), { url: webhookUrl, secret: first })

    const chosen = `webhook-secret-${randomUUID()}`
    const set = await api.update(tenant.id, { webhookSecret: chosen })
    assert.equal(set.status, 204)
    assert.equal(set.body, undefined, 'no secret in the answer')
    assert.deepEqual(await webhookOf(tenant.id), { url: webhookUrl, secret: chosen })

    const renewed = await api.update(tenant.id.toUpperCase(), { webhookSecret: null })
    const second = generatedSecret(renewed, 200)
    assert.deepEqual(renewed.body, { id: tenant.id, webhookSecret: second })
    assert.notEqual(second, chosen)
    assert.deepEqual(await webhookOf(tenant.id), { url: webhookUrl, secret: second })

    assert.equal((await api.update(tenant.id, { webhookUrl: null })).status, 204)
    assert.equal(await webhookOf(tenant.id), undefined)
    const shown = (await api.get(tenant.id)).body as Record<string, unknown>
    assert.equal(shown.webhookUrl, null)
    assert.equal(shown.hasWebhookSecret, false, 'the secret went with its URL')
  })

  test('a bad URL or a short secret is 400 naming the field, and changes nothing', async () => {
    const short = 'x'.repeat(19)
    const refusals = [
      [{ webhookUrl: 'ftp://wallet.example/hooks' }, 'webhookUrl must be an http or https URL'],
      [{ webhookUrl: 'not a url' }, 'webhookUrl must be an http or https URL'],
      [
        { webhookUrl: `https://wallet.example/${'x'.repeat(2048)}` },
        'webhookUrl must be at most 2048 characters'
      ],
      [{ webhookUrl, webhookSecret: short }, 'webhookSecret must be at least 20 characters'],
      [{ webhookSecret: '' }, 'webhookSecret must be at least 20 characters']
    ] as const
    for (const [fields, description] of refusals) {
      const tenant = newTenant()
      assertInvalid(await api.create({ ...tenant, ...fields }), description)
      assert.equal((await api.get(tenant.id)).status, 404, 'nothing created')
    }
    const tenant = newTenant()
    assert.equal((await api.create({ ...tenant, webhookUrl })).status, 201)
    const before = await webhookOf(tenant.id)
    for (const [fields, description] of refusals) {
      assertInvalid(await api.update(tenant.id, fields), description)
    }
    assert.deepEqual(await webhookOf(tenant.id), before)
    // Not a string: the schema's refusal, still 400 JSON.
    const typed = await api.update(tenant.id, { webhookUrl: 42 } as never)
    assert.equal(typed.status, 400)
    assert.equal((typed.body as { error: { code: string } }).error.code, 'invalid_request')
  })

  test("the tenant's events go to its URL, signed with its own secret", async () => {
    const tenant = newTenant()
    const created = await api.create({ ...tenant, webhookUrl: receiver.url })
    const secret = generatedSecret(created, 201)
    const server: TestServer = {
      ...world.server,
      tenantId: tenant.id,
      grantUrl: `${world.server.services.config.authServerUrl}/${tenant.id}`
    }
    const flows = createGrantFlows(server, world.app, `${world.wallets.url}/alice`)
    const { token } = await flows.requestNonInteractive()
    const grantId = (await flows.introspect(token.value)).grant!
    await receiver.waitFor((r) => r.some((w) => w.data.grantId === grantId))
    const hook = receiver.received.find((w) => w.data.grantId === grantId)!
    assert.equal(hook.type, 'grant.issued')
    assert.equal(hook.data.tenantId, tenant.id)
    const header = hook.headers['rafiki-signature'] as string
    assert.ok(rafikiVerify(header, JSON.parse(hook.raw), secret), "signed with the tenant's")
    assert.ok(!hook.signatureValid, "not with the receiver's own key")
  })
})
