import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { consoleClient } from '../helpers/console-client.js'
import { authServiceClient } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/**
 * A tenant's own webhook receiver at the console: set on the new-tenant and tenant forms, its
 * secret kept, set or generated (a generated one shown once, on the answer alone), the URL
 * removed with its secret; bad input a page naming the field; and only the operator may.
 */

let server: TestServer

before(async () => {
  server = await startTestServer({
    SECRET_ATTEMPTS_PER_TENANT: '1000',
    SECRET_ATTEMPTS_PER_ADDRESS: '1000'
  })
})
after(() => server.close())

const url = 'https://wallet.example/webhooks'
const webhookOf = (id: string) => server.services.tenants.webhookOf(id)
const SHOWN_ONCE = /Its webhook secret, shown this once: ([\w-]{43})</

/** The value a page's field `name` shows (its other attributes may come between). */
const formField = (page: string, name: string): string | undefined =>
  new RegExp(`name="${name}"[^>]*? value="([^"]*)"`).exec(page)?.[1]

async function operator() {
  const browser = consoleClient(server.adminUrl)
  const signedIn = await browser.signIn(server.tenantId, server.env.ADMIN_API_SECRET!)
  assert.equal(signedIn.status, 303, signedIn.text)
  return { browser, csrf: await browser.formToken() }
}

/** A tenant made through the service API, as Rafiki's backend makes one. */
async function createTenant() {
  const id = randomUUID()
  const apiSecret = `tenant-secret-${id}`
  assert.equal((await authServiceClient(server.serviceUrl).create({ id, apiSecret })).status, 204)
  return { id, apiSecret }
}

describe("a tenant's webhook receiver at the console", () => {
  test('created with a URL: its secret generated and shown once; the pages show the URL, never the secret', async () => {
    const { browser, csrf } = await operator()
    const id = randomUUID()
    const created = await browser.post('/tenants', {
      csrf,
      id,
      apiSecret: `api-secret-${id}`,
      webhookUrl: url
    })
    assert.equal(created.status, 201, created.text)
    assert.equal(created.headers.get('cache-control'), 'no-store')
    const secret = SHOWN_ONCE.exec(created.text)?.[1]
    assert.ok(secret, created.text)
    assert.ok(!created.text.includes('Its API secret'), 'the API secret was given, not generated')
    assert.deepEqual(await webhookOf(id), { url, secret })

    const page = await browser.get(`/tenants/${id}`)
    assert.equal(page.status, 200)
    assert.equal(formField(page.text, 'webhookUrl'), url)
    assert.match(page.text, /Webhook secret \(set; stored encrypted, never shown again\)/)
    const listed = await browser.get('/tenants')
    assert.ok(listed.text.includes(`<code>${url}</code>`), 'the list shows the URL')
    for (const shown of [page, listed]) assert.ok(!shown.text.includes(secret), 'never again')
  })

  test('edited: the secret set, generated anew (shown once), the URL emptied with its secret', async () => {
    const { browser, csrf } = await operator()
    const { id } = await createTenant()
    const added = await browser.post(`/tenants/${id}`, { csrf, webhookUrl: url })
    assert.equal(added.status, 200, added.text)
    const first = SHOWN_ONCE.exec(added.text)?.[1]
    assert.deepEqual(await webhookOf(id), { url, secret: first })

    const chosen = `webhook-secret-${id}`
    const set = await browser.post(`/tenants/${id}`, {
      csrf,
      webhookUrl: url,
      webhookSecretChange: 'set',
      webhookSecret: chosen
    })
    assert.equal(set.status, 303, 'nothing generated: back to the tenant')
    assert.deepEqual(await webhookOf(id), { url, secret: chosen })

    const kept = await browser.post(`/tenants/${id}`, { csrf, webhookUrl: `${url}/moved` })
    assert.equal(kept.status, 303)
    assert.deepEqual(await webhookOf(id), { url: `${url}/moved`, secret: chosen })

    const renewed = await browser.post(`/tenants/${id}`, {
      csrf,
      webhookUrl: url,
      webhookSecretChange: 'generate'
    })
    assert.equal(renewed.status, 200, renewed.text)
    const second = SHOWN_ONCE.exec(renewed.text)?.[1]
    assert.ok(second && second !== chosen)
    assert.deepEqual(await webhookOf(id), { url, secret: second })

    const emptied = await browser.post(`/tenants/${id}`, { csrf, webhookUrl: '' })
    assert.equal(emptied.status, 303)
    assert.equal(await webhookOf(id), undefined)
    const page = await browser.get(`/tenants/${id}`)
    assert.equal(formField(page.text, 'webhookUrl'), '')
    assert.match(page.text, /Webhook secret \(not set;/)
  })

  test('a bad URL, a short secret or an incomplete choice is a page naming it; nothing changes', async () => {
    const { browser, csrf } = await operator()
    const { id } = await createTenant()
    const short = 'x'.repeat(19)
    for (const [form, sentence] of [
      [{ webhookUrl: 'ftp://wallet.example' }, 'The webhook URL must be an http or https URL.'],
      [
        { webhookUrl: url, webhookSecretChange: 'set', webhookSecret: short },
        'The webhook secret must be at least 20 characters.'
      ],
      [
        { webhookUrl: url, webhookSecretChange: 'set' },
        'Type the new webhook secret, or choose to keep it or to have a new one generated.'
      ]
    ] as const) {
      const refused = await browser.post(`/tenants/${id}`, { csrf, ...form })
      assert.equal(refused.status, 400, refused.text)
      assert.ok(refused.text.includes(sentence), refused.text)
      assert.equal(formField(refused.text, 'webhookUrl'), form.webhookUrl, 'shown again')
      assert.equal(await webhookOf(id), undefined)
    }
    const created = await browser.post('/tenants', {
      csrf,
      id: randomUUID(),
      webhookUrl: url,
      webhookSecret: short
    })
    assert.equal(created.status, 400)
    assert.ok(created.text.includes('The webhook secret must be at least 20 characters.'))
    assert.equal(formField(created.text, 'webhookUrl'), url)
  })

  test("another tenant cannot set a tenant's webhook URL, nor its own", async () => {
    const target = await createTenant()
    const intruder = await createTenant()
    const browser = consoleClient(server.adminUrl)
    assert.equal((await browser.signIn(intruder.id, intruder.apiSecret)).status, 303)
    const csrf = await browser.formToken()
    for (const id of [target.id, intruder.id, server.tenantId]) {
      const res = await browser.post(`/tenants/${id}`, {
        csrf,
        webhookUrl: 'https://attacker.example/hooks'
      })
      assert.equal(res.status, 403, `${id}: ${res.text}`)
      assert.equal(await webhookOf(id), undefined)
    }
    const created = await browser.post('/tenants', {
      csrf,
      id: randomUUID(),
      webhookUrl: 'https://attacker.example/hooks'
    })
    assert.equal(created.status, 403)
  })
})
