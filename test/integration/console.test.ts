import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { consoleClient, formField } from '../helpers/console-client.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { authServiceClient } from '../helpers/tenants.js'
import { startTestServer } from '../helpers/test-server.js'
import { createGrantFlows, type GrantFlows } from './support/grant-flows.js'

/**
 * The operator console over HTTP, as a browser without script uses it: sign-in, the session
 * cookie and every way it is refused, form tokens, grants found, read and revoked, tenants
 * managed, and nothing changed by a GET. The browser test (test/browser) drives the same pages
 * in Chromium.
 */

let world: ServerWithClient
let flows: GrantFlows
const account = () => `${world.wallets.url}/alice`
const operatorSecret = () => world.server.env.ADMIN_API_SECRET!

before(async () => {
  world = await startServerWithClient({
    SECRET_ATTEMPTS_PER_TENANT: '1000',
    SECRET_ATTEMPTS_PER_ADDRESS: '1000'
  })
  flows = createGrantFlows(world.server, world.app, account())
})
after(async () => {
  await world.close()
})

async function operator() {
  const browser = consoleClient(world.server.adminUrl)
  const signedIn = await browser.signIn(world.server.tenantId, operatorSecret())
  assert.equal(signedIn.status, 303, signedIn.text)
  return browser
}

/** A grant issued at once (incoming payments), with its id and token. */
async function issuedGrant() {
  const issued = await flows.requestNonInteractive()
  const introspected = await flows.introspect(issued.token.value)
  assert.ok(introspected.active && introspected.grant)
  return { ...issued, id: introspected.grant }
}

describe('sign-in', () => {
  test('the page: labelled fields, a form token, a strict CSP, no framing, no caching', async () => {
    const res = await consoleClient(world.server.adminUrl).get('/')
    assert.equal(res.status, 200)
    assert.match(res.text, /<label for="tenant-id">Tenant ID/)
    assert.match(res.text, /<label for="api-secret">API secret/)
    assert.match(res.text, /<button type="submit">Sign in<\/button>/)
    const csp = res.headers.get('content-security-policy')!
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /style-src 'sha256-/)
    assert.doesNotMatch(csp, /unsafe-inline|script-src/)
    assert.equal(res.headers.get('x-frame-options'), 'DENY')
    assert.equal(res.headers.get('cache-control'), 'no-store')
  })

  test('the operator signs in: a signed HttpOnly SameSite=Strict cookie that expires', async () => {
    const browser = consoleClient(world.server.adminUrl)
    const res = await browser.signIn(world.server.tenantId.toUpperCase(), operatorSecret())
    assert.equal(res.status, 303)
    assert.equal(res.headers.get('location'), '/grants')
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('opas_console='))!
    assert.match(cookie, /HttpOnly/i)
    assert.match(cookie, /SameSite=Strict/i)
    assert.match(cookie, /Max-Age=\d+/i)
    assert.match(cookie, /Path=\//)
    const grants = await browser.get('/grants')
    assert.equal(grants.status, 200)
    assert.match(grants.text, /Signed in as operator/)
    assert.match(grants.text, /<a href="\/tenants"/, 'the operator manages tenants')
  })

  test('a wrong secret, an unknown or malformed tenant id: the same refusal, no session', async () => {
    for (const [tenantId, secret] of [
      [world.server.tenantId, 'wrong'],
      ['7d1f0a7e-5d1b-4a44-9a53-000000000000', operatorSecret()],
      ['not-a-uuid', operatorSecret()],
      [world.server.tenantId, '']
    ] as const) {
      const browser = consoleClient(world.server.adminUrl)
      const res = await browser.signIn(tenantId, secret)
      assert.equal(res.status, 401, `${tenantId}/${secret}`)
      assert.match(res.text, /The tenant ID or the API secret is wrong/)
      assert.ok(!browser.jar.has('opas_console'), 'no session cookie')
      assert.equal((await browser.get('/grants')).status, 401)
    }
  })

  test('a sign-in posted without the form token of this browser is refused', async () => {
    const browser = consoleClient(world.server.adminUrl)
    const forged = await browser.post('/sign-in', {
      tenantId: world.server.tenantId,
      apiSecret: operatorSecret(),
      csrf: 'forged'
    })
    assert.equal(forged.status, 403)
    assert.ok(!browser.jar.has('opas_console'))
    // Another browser's token, without its nonce cookie.
    const other = consoleClient(world.server.adminUrl)
    const token = formField((await other.get('/')).text, 'csrf')!
    const borrowed = await browser.post(
      '/sign-in',
      { tenantId: world.server.tenantId, apiSecret: operatorSecret(), csrf: token },
      ''
    )
    assert.equal(borrowed.status, 403)
  })

  test('failed sign-ins are limited per address: then even the right secret waits', async () => {
    const limited = await startTestServer({ SECRET_ATTEMPTS_PER_TENANT: '3' })
    try {
      const browser = consoleClient(limited.adminUrl)
      for (let i = 0; i < 3; i++) {
        assert.equal((await browser.signIn(limited.tenantId, `wrong-${i}`)).status, 401)
      }
      const res = await browser.signIn(limited.tenantId, limited.env.ADMIN_API_SECRET!)
      assert.equal(res.status, 429)
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After')
      assert.match(res.text, /Too many failed attempts from this address/)
      assert.ok(!browser.jar.has('opas_console'))
    } finally {
      await limited.close()
    }
  })

  test('after sign-in the browser returns to the page it asked for, never to another host', async () => {
    const browser = consoleClient(world.server.adminUrl)
    const asked = await browser.get('/overview')
    assert.equal(asked.status, 401)
    assert.equal(formField(asked.text, 'next'), '/overview')
    const csrf = formField(asked.text, 'csrf')!
    const res = await browser.post('/sign-in', {
      csrf,
      tenantId: world.server.tenantId,
      apiSecret: operatorSecret(),
      next: '/overview'
    })
    assert.equal(res.headers.get('location'), '/overview')
    const other = consoleClient(world.server.adminUrl)
    const page = await other.get('/')
    const away = await other.post('/sign-in', {
      csrf: formField(page.text, 'csrf')!,
      tenantId: world.server.tenantId,
      apiSecret: operatorSecret(),
      next: '//evil.example/'
    })
    assert.equal(away.headers.get('location'), '/grants')
  })
})

describe('sessions', () => {
  test('without a cookie: a page shows the sign-in form, a form post changes nothing', async () => {
    const { id, token } = await issuedGrant()
    const browser = consoleClient(world.server.adminUrl)
    const page = await browser.get(`/grants/${id}`)
    assert.equal(page.status, 401)
    assert.match(page.text, /Sign in to continue/)
    const post = await browser.post(`/grants/${id}/revoke`, { csrf: 'anything' })
    assert.equal(post.status, 401)
    assert.match(post.text, /Nothing was changed/)
    assert.equal((await flows.introspect(token.value)).active, true)
  })

  test('a tampered cookie is refused and cleared', async () => {
    const browser = await operator()
    const { id, token } = await issuedGrant()
    const csrf = await browser.formToken()
    const real = browser.jar.get('opas_console')!
    const tampered = `opas_console=${real.slice(0, -2)}${real.endsWith('A') ? 'B' : 'A'}`
    const page = await browser.get('/grants', tampered)
    assert.equal(page.status, 401)
    assert.match(page.text, /session cookie is not valid/)
    // A session id of one's own choosing, without the signature.
    const unsigned = await browser.get('/grants', `opas_console=${real.split('.')[0]}`)
    assert.equal(unsigned.status, 401)
    const post = await browser.post(`/grants/${id}/revoke`, { csrf }, tampered)
    assert.equal(post.status, 401)
    assert.equal((await flows.introspect(token.value)).active, true)
  })

  test('a forged form token is refused and nothing is revoked', async () => {
    const browser = await operator()
    const { id, token } = await issuedGrant()
    for (const csrf of ['forged', '']) {
      const res = await browser.post(`/grants/${id}/revoke`, { csrf })
      assert.equal(res.status, 403)
      assert.match(res.text, /Nothing was changed/)
    }
    // Another session's token does not fit this session.
    const other = await operator()
    const res = await browser.post(`/grants/${id}/revoke`, { csrf: await other.formToken() })
    assert.equal(res.status, 403)
    assert.equal((await flows.introspect(token.value)).active, true)
  })

  test('a signed-out session is refused, its cookie replayed or not', async () => {
    const browser = await operator()
    const cookie = `opas_console=${browser.jar.get('opas_console')!}`
    const out = await browser.post('/sign-out', { csrf: await browser.formToken() })
    assert.equal(out.status, 303)
    assert.equal(out.headers.get('location'), '/')
    assert.ok(!browser.jar.has('opas_console'), 'the cookie is cleared')
    const replayed = await browser.get('/grants', cookie)
    assert.equal(replayed.status, 401)
    assert.match(replayed.text, /Your session has ended/)
  })

  test('an expired session is refused', async () => {
    const browser = await operator()
    await world.server.services.db.query(
      "update console_sessions set expires_at = now() - interval '1 second'"
    )
    const res = await browser.get('/grants')
    assert.equal(res.status, 401)
    assert.match(res.text, /Your session has ended/)
  })

  test("a new API secret ends the tenant's sessions", async () => {
    const tenant = await createTenant()
    const browser = consoleClient(world.server.adminUrl)
    assert.equal((await browser.signIn(tenant.id, tenant.apiSecret)).status, 303)
    assert.equal((await browser.get('/grants')).status, 200)
    const service = authServiceClient(world.server.serviceUrl)
    assert.equal(
      (await service.update(tenant.id, { apiSecret: 'another-secret-of-this-tenant' })).status,
      204
    )
    await new Promise((resolve) => setTimeout(resolve, 1100)) // the tenant cache's second
    assert.equal((await browser.get('/grants')).status, 401)
  })

  test('a GET changes nothing: the revoke page only asks', async () => {
    const browser = await operator()
    const { id, token } = await issuedGrant()
    const confirm = await browser.get(`/grants/${id}/revoke`)
    assert.equal(confirm.status, 200)
    assert.match(confirm.text, /<button type="submit" class="danger">Confirm revoke<\/button>/)
    assert.equal((await flows.introspect(token.value)).active, true)
  })
})

async function createTenant() {
  const id = crypto.randomUUID()
  const apiSecret = `tenant-secret-${id}`
  const res = await authServiceClient(world.server.serviceUrl).create({ id, apiSecret })
  assert.equal(res.status, 204)
  return { id, apiSecret }
}

describe('grants', () => {
  test('found by the wallet address of an access item or of the client, read in words', async () => {
    const browser = await operator()
    const interactive = await flows.requestInteractive()
    const { grantId } = await flows.approve(interactive)
    const byAccount = await browser.get(`/grants?wallet=${encodeURIComponent(account())}`)
    assert.equal(byAccount.status, 200)
    assert.ok(byAccount.text.includes(`/grants/${grantId}`), 'found by the access identifier')
    assert.match(byAccount.text, /Send payments: up to USD 5\.00 each month/)
    const byClient = await browser.get(
      `/grants?wallet=${encodeURIComponent(world.app.walletAddress)}`
    )
    assert.ok(byClient.text.includes(`/grants/${grantId}`), "found by the client's address")
    const none = await browser.get(
      `/grants?wallet=${encodeURIComponent(`${world.wallets.url}/nobody`)}`
    )
    assert.match(none.text, /No grants for/)
  })

  test('filtered by state, newest first, paged by 20', async () => {
    const browser = await operator()
    const ids: string[] = []
    for (let i = 0; i < 22; i++) ids.push((await issuedGrant()).id)
    const wallet = encodeURIComponent(world.app.walletAddress)
    const first = await browser.get(`/grants?wallet=${wallet}&state=issued`)
    const shown = (text: string) =>
      [...text.matchAll(/<a href="\/grants\/([0-9a-f-]{36})">/g)].map((m) => m[1]!)
    const page1 = shown(first.text)
    assert.equal(page1.length, 20)
    assert.deepEqual(page1.slice(0, 3), ids.slice(-3).reverse(), 'newest first')
    assert.doesNotMatch(first.text, /Newer grants/)
    const older = /href="([^"]+)">Older grants/.exec(first.text)![1]!.replaceAll('&amp;', '&')
    const second = await browser.get(older)
    const page2 = shown(second.text)
    assert.ok(page2.length > 0 && !page2.some((id) => page1.includes(id)), 'the next page')
    assert.match(second.text, /Newer grants/)
    const pending = await browser.get(`/grants?wallet=${wallet}&state=pending`)
    assert.ok(!shown(pending.text).some((id) => ids.includes(id)), 'issued grants are not pending')
  })

  test("the grant's page: access in words, tokens and their rotation, never a token value", async () => {
    const browser = await operator()
    const { id, token } = await issuedGrant()
    const rotated = await flows.rotate(token)
    assert.equal(rotated.status, 200, rotated.text)
    const page = await browser.get(`/grants/${id}`)
    assert.equal(page.status, 200)
    assert.match(page.text, /Receive payments/)
    assert.match(page.text, /create incoming payments/)
    assert.match(page.text, /Token 1<\/strong>: Issued .*; rotated .*, replaced by token 2/)
    assert.match(page.text, /Token 2<\/strong>: Issued .* by rotating token 1; live; expires/)
    const newToken = (rotated.body as { access_token: { value: string; manage: string } })
      .access_token
    for (const secret of [token.value, newToken.value, token.manage, newToken.manage]) {
      assert.ok(!page.text.includes(secret), 'no token value or management URL')
    }
    for (const handle of [token.manage, newToken.manage]) {
      assert.ok(!page.text.includes(handle.split('/').pop()!), 'no management id')
    }
  })

  test('a token the app revoked: the grant reads Inactive, not issued, and is filtered so', async () => {
    const browser = await operator()
    const { id, token } = await issuedGrant()
    const wallet = encodeURIComponent(world.app.walletAddress)
    const listed = async (status: string) =>
      (await browser.get(`/grants?wallet=${wallet}&state=${status}`)).text.includes(
        `/grants/${id}"`
      )
    assert.match((await browser.get(`/grants/${id}`)).text, /class="state issued">Issued/)
    assert.ok(await listed('issued'))
    assert.ok(!(await listed('inactive')))

    // RFC 9635 §6.2: the client revokes its token at its management URL; the grant stays
    // FINALIZED (ISSUED), as Rafiki keeps it.
    const revoked = await flows.revoke(token)
    assert.equal(revoked.status, 204, revoked.text)
    const page = await browser.get(`/grants/${id}`)
    assert.match(
      page.text,
      /class="state inactive">Inactive<\/span> issued, but the app holds no live token/
    )
    assert.match(page.text, /GNAP state<\/dt><dd><code>FINALIZED \(ISSUED\)</, 'the raw state too')
    assert.doesNotMatch(page.text, /holds a live token/)
    assert.match(page.text, /Token 1<\/strong>: Issued .*; revoked /)
    assert.match(page.text, />Revoke<\/button>/, 'an inactive grant can still be revoked')
    assert.ok(await listed('inactive'))
    assert.ok(!(await listed('issued')))
  })

  test('revoke with confirmation: the token introspects inactive, the page says so', async () => {
    const browser = await operator()
    const { id, token } = await issuedGrant()
    const csrf = await browser.formToken()
    const res = await browser.post(`/grants/${id}/revoke`, { csrf })
    assert.equal(res.status, 303)
    assert.equal(res.headers.get('location'), `/grants/${id}?revoked=1`)
    assert.equal((await flows.introspect(token.value)).active, false)
    const page = await browser.get(`/grants/${id}?revoked=1`)
    assert.match(page.text, /Grant revoked\./)
    assert.match(page.text, /class="state revoked">Revoked/)
    assert.doesNotMatch(page.text, />Revoke<\/button>/, 'no second revoke')
  })

  test('an unknown address is a page for a browser, the error object for anyone else', async () => {
    const browser = await operator()
    const page = await browser.get('/grant/typo')
    assert.equal(page.status, 404)
    assert.match(page.text, /Page not found/)
    const api = await fetch(`${world.server.adminUrl}/grant/typo`)
    assert.equal(api.status, 404)
    assert.deepEqual(await api.json(), {
      error: { code: 'invalid_request', description: 'Not Found' }
    })
  })

  test('a bad or unknown grant id is a page, not an error', async () => {
    const browser = await operator()
    for (const path of [
      '/grants/not-a-uuid',
      `/grants/${crypto.randomUUID()}`,
      '/grants/%27/revoke'
    ]) {
      const res = await browser.get(path)
      assert.equal(res.status, 404, path)
      assert.match(res.text, /Grant not found/)
    }
    const res = await browser.post(`/grants/${crypto.randomUUID()}/revoke`, {
      csrf: await browser.formToken()
    })
    assert.equal(res.status, 404)
  })

  test("a tenant sees and revokes only its own grants; not the operator's, nor tenants", async () => {
    const tenant = await createTenant()
    const { id, token } = await issuedGrant() // the operator tenant's
    const browser = consoleClient(world.server.adminUrl)
    assert.equal((await browser.signIn(tenant.id, tenant.apiSecret)).status, 303)
    const list = await browser.get(`/grants?wallet=${encodeURIComponent(world.app.walletAddress)}`)
    assert.equal(list.status, 200)
    assert.ok(!list.text.includes(id), "the operator's grant is not listed")
    assert.match(list.text, new RegExp(`Signed in as tenant ${tenant.id}`))
    assert.equal((await browser.get(`/grants/${id}`)).status, 404)
    assert.equal((await browser.get(`/grants/${id}/revoke`)).status, 404)
    const csrf = await browser.formToken()
    assert.equal((await browser.post(`/grants/${id}/revoke`, { csrf })).status, 404)
    assert.equal((await flows.introspect(token.value)).active, true)
    assert.equal((await browser.get('/tenants')).status, 403)
    assert.equal(
      (await browser.post('/tenants', { csrf, id: crypto.randomUUID(), apiSecret: 'x' })).status,
      403
    )
  })
})

describe('tenants (operator only)', () => {
  test('create, edit the IdP URL and secret, delete; bad input is a page', async () => {
    const browser = await operator()
    const csrf = await browser.formToken()
    const id = crypto.randomUUID()
    const firstSecret = `first-secret-${id}`
    const bad = await browser.post('/tenants', {
      csrf,
      id,
      apiSecret: firstSecret,
      idpConsentUrl: 'ftp://x'
    })
    assert.equal(bad.status, 400)
    assert.match(bad.text, /The IdP consent URL must be an http or https URL\./)
    const nope = await browser.post('/tenants', { csrf, id: 'nope', apiSecret: firstSecret })
    assert.equal(nope.status, 400)
    assert.match(nope.text, /The tenant ID must be a UUID\./)
    const created = await browser.post('/tenants', {
      csrf,
      id,
      apiSecret: firstSecret,
      idpConsentUrl: 'https://idp.example/consent'
    })
    assert.equal(created.status, 303, created.text)
    assert.equal((await browser.post('/tenants', { csrf, id, apiSecret: firstSecret })).status, 409)
    const service = authServiceClient(world.server.serviceUrl)
    assert.deepEqual((await service.get(id)).body, {
      id,
      idpConsentUrl: 'https://idp.example/consent',
      hasIdpSecret: false,
      webhookUrl: null,
      hasWebhookSecret: false,
      idpSecret: null
    })
    const edited = await browser.post(`/tenants/${id}`, {
      csrf,
      idpConsentUrl: 'https://idp2.example/consent',
      idpSecretChange: 'set',
      idpSecret: 'idp-secret-long-enough'
    })
    assert.equal(edited.status, 303, edited.text)
    assert.deepEqual((await service.get(id)).body, {
      id,
      idpConsentUrl: 'https://idp2.example/consent',
      hasIdpSecret: true,
      webhookUrl: null,
      hasWebhookSecret: false,
      idpSecret: null
    })
    const tenantBrowser = consoleClient(world.server.adminUrl)
    assert.equal((await tenantBrowser.signIn(id, firstSecret)).status, 303, 'API secret kept')
    const listed = await browser.get('/tenants')
    assert.ok(listed.text.includes(id))
    assert.equal((await browser.get(`/tenants/${id}/delete`)).status, 200, 'asks first')
    assert.equal((await service.get(id)).status, 200, 'the GET deleted nothing')
    assert.equal((await browser.post(`/tenants/${id}/delete`, { csrf })).status, 303)
    assert.equal((await service.get(id)).status, 404)
    assert.equal((await browser.get(`/tenants/${id}`)).status, 404)
    const own = await browser.post(`/tenants/${world.server.tenantId}/delete`, { csrf })
    assert.equal(own.status, 409, 'the operator tenant is not deleted')
  })

  test('a secret under 20 characters is refused, naming the minimum; none given is generated', async () => {
    const browser = await operator()
    const csrf = await browser.formToken()
    const service = authServiceClient(world.server.serviceUrl)
    const id = crypto.randomUUID()
    const short = 'x'.repeat(19)
    for (const [form, sentence] of [
      [{ apiSecret: short }, 'The API secret must be at least 20 characters.'],
      [
        { apiSecret: `${short}yz`, idpSecret: short },
        'The IdP secret must be at least 20 characters.'
      ]
    ] as const) {
      const refused = await browser.post('/tenants', { csrf, id, ...form })
      assert.equal(refused.status, 400)
      assert.ok(refused.text.includes(sentence), refused.text)
      assert.equal((await service.get(id)).status, 404)
    }
    const created = await browser.post('/tenants', { csrf, id })
    assert.equal(created.status, 201, created.text)
    assert.equal(created.headers.get('cache-control'), 'no-store')
    const secret = /shown this once: ([\w-]{43})</.exec(created.text)?.[1]
    assert.ok(secret, created.text)
    assert.equal(await world.server.services.tenants.apiSecretOf(id), secret)
    const edit = await browser.post(`/tenants/${id}`, {
      csrf,
      idpSecretChange: 'set',
      idpSecret: short
    })
    assert.equal(edit.status, 400)
    assert.ok(edit.text.includes('The IdP secret must be at least 20 characters.'))
    assert.equal(((await service.get(id)).body as { hasIdpSecret: boolean }).hasIdpSecret, false)
  })
})

describe('overview', () => {
  test('charts of the last hour; the page alone may load /console.js', async () => {
    const browser = await operator()
    await issuedGrant()
    const res = await browser.get('/overview')
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-security-policy')!, /script-src 'self'/)
    assert.match(res.text, /<script src="\/console.js" defer><\/script>/)
    assert.match(res.text, /Grants issued/)
    assert.match(res.text, /<svg/)
    const fragment = await browser.get('/overview/charts')
    assert.equal(fragment.status, 200)
    assert.match(fragment.text, /<svg/)
    const script = await browser.get('/console.js')
    assert.match(script.headers.get('content-type')!, /javascript/)
  })
})

test('CONSOLE=off serves no console; the admin API stays', async () => {
  const off = await startTestServer({ CONSOLE: 'off' })
  try {
    const res = await fetch(`${off.adminUrl}/`, { headers: { accept: 'text/html' } })
    assert.equal(res.status, 404)
    const signIn = await fetch(`${off.adminUrl}/sign-in`, { method: 'POST' })
    assert.equal(signIn.status, 404)
    const metrics = await fetch(`${off.adminUrl}/metrics`)
    assert.equal(metrics.status, 200)
  } finally {
    await off.close()
  }
})
