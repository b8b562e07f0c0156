import { randomUUID } from 'node:crypto'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { send, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'

/**
 * Every listener answers every refusal with the GNAP envelope (RFC 9635 §3.6) as JSON: bad
 * bodies, bad ids, unknown routes, content negotiation, size limits and the IdP secret.
 */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient
let world: ServerWithClient | undefined
/** A pending interaction of a real grant: `/grant/{id}/{nonce}` on the IdP back channel. */
let idpGrantUrl: string

before(async () => {
  world = await startServerWithClient()
  ;({ server, wallets, app } = world)
  const pending = await signedRequest(server.grantUrl, {
    client: app,
    body: {
      client: app.walletAddress,
      access_token: {
        access: [
          { type: 'outgoing-payment', actions: ['create'], identifier: `${wallets.url}/alice` }
        ]
      },
      interact: { start: ['redirect'] }
    }
  })
  assert.equal(pending.status, 200, pending.text)
  const redirect = new URL((pending.body as { interact: { redirect: string } }).interact.redirect)
  const [, , id, nonce] = redirect.pathname.split('/')
  idpGrantUrl = `${server.interactionUrl}/grant/${id}/${nonce}`
})
after(() => world?.close())

type Listener = 'auth' | 'interaction' | 'introspection' | 'admin' | 'service'
const urlOf = (listener: Listener) =>
  ({
    auth: server.authUrl,
    interaction: server.interactionUrl,
    introspection: server.introspectionUrl,
    admin: server.adminUrl,
    service: server.serviceUrl
  })[listener]
const listeners: Listener[] = ['auth', 'interaction', 'introspection', 'admin', 'service']

/** A JSON POST endpoint of each listener, reached without credentials. */
const jsonPostNames = ['grant request', 'introspection', 'IdP choice'] as const
const jsonPostUrl = (name: (typeof jsonPostNames)[number]) =>
  ({
    'grant request': server.grantUrl,
    introspection: `${server.introspectionUrl}/`,
    'IdP choice': `${idpGrantUrl}/accept`
  })[name]
const jsonPostUrls = () => jsonPostNames.map(jsonPostUrl)

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body
  })

const validGrant = () =>
  JSON.stringify({
    client: app.walletAddress,
    access_token: { access: [{ type: 'incoming-payment', actions: ['read'] }] }
  })

describe('health', () => {
  for (const listener of listeners) {
    test(`GET /healthz on the ${listener} listener is 200 {"status":"ok"}`, async () => {
      const res = await send(`${urlOf(listener)}/healthz`, {})
      assert.equal(res.status, 200, res.text)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      assert.deepEqual(res.body, { status: 'ok' })
    })

    test(`GET /readyz on the ${listener} listener is 200 {"status":"ready"}`, async () => {
      const res = await send(`${urlOf(listener)}/readyz`, {})
      assert.equal(res.status, 200, res.text)
      assert.deepEqual(res.body, { status: 'ready' })
    })
  }
})

describe('unknown routes', () => {
  for (const listener of listeners) {
    test(`the ${listener} listener answers unknown routes 404 in the envelope`, async () => {
      for (const [method, path] of [
        ['GET', '/no/such/route'],
        ['POST', '/no/such/route'],
        ['PUT', '/no/token/x']
      ] as const) {
        const res = await send(`${urlOf(listener)}${path}`, { method })
        assertGnapError(res, 404, 'invalid_request', 'Not Found')
      }
    })
  }

  // RFC 9110 §15.5.6: a known path asked with a method it does not answer.
  const wrongMethods: [Listener, string, string, string][] = [
    ['auth', 'PUT', '/token/x', 'POST, DELETE'],
    // OPTIONS: discovery (RFC 9635 §9).
    ['auth', 'GET', '/', 'POST, OPTIONS'],
    // POST /discovery is a tenant's grant endpoint (`/:tenantId`) as far as routing goes.
    ['auth', 'DELETE', '/discovery', 'GET, HEAD, POST, OPTIONS'],
    ['auth', 'PATCH', '/continue/x/', 'POST, DELETE'],
    ['introspection', 'GET', '/', 'POST'],
    ['interaction', 'DELETE', '/grant/x/y', 'GET, HEAD'],
    ['admin', 'POST', '/metrics', 'GET, HEAD'],
    ['service', 'PUT', '/tenant/x', 'GET, HEAD, PATCH, DELETE']
  ]
  for (const [listener, method, path, allow] of wrongMethods) {
    test(`${method} ${path} on the ${listener} listener is 405 with Allow: ${allow}`, async () => {
      const res = await send(`${urlOf(listener)}${path}`, { method })
      assertGnapError(res, 405, 'invalid_request', `method ${method} not allowed here`)
      assert.equal(res.headers.get('allow'), allow)
    })
  }
})

describe('interaction links opened in a browser', () => {
  const unknown = () => `${urlOf('auth')}/interact/${randomUUID()}/0123456789ABCDEF0123456789ABCDEF`
  test('an unknown interaction link is a plain page for a browser, the GNAP error for the rest', async () => {
    for (const path of ['', '/finish']) {
      const page = await send(`${unknown()}${path}`, {
        headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
      })
      assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/)
      assert.match(page.text, /^<!doctype html>/)
      assert.match(page.text, /<h1>(Unknown link|This request cannot continue)<\/h1>/)
      assert.doesNotMatch(page.text, /"error"|\.ts:\d+/)
      assert.ok(page.status >= 400 && page.status < 500, `${path}: ${page.status}`)
      const api = await send(`${unknown()}${path}`, { headers: { accept: 'application/json' } })
      assert.equal(api.status, page.status)
      assert.match(api.headers.get('content-type') ?? '', /^application\/json/)
    }
    const start = await send(unknown(), { headers: { accept: 'text/html' } })
    assert.equal(start.status, 400)
    assert.match(start.text, /<h1>Unknown link<\/h1>/)
  })
})

describe('request bodies', () => {
  for (const name of jsonPostNames) {
    test(`${name}: malformed JSON is 400 invalid_request`, async () => {
      for (const body of ['{"client":', 'not json', '{"__proto__":{"x":1}}']) {
        const res = await post(jsonPostUrl(name), body)
        assertGnapError(res, 400, 'invalid_request', 'request body is not valid JSON')
      }
    })
  }

  test('a body over 64 KiB is 413 on every listener', async () => {
    const big = JSON.stringify({ client: app.walletAddress, padding: 'x'.repeat(70 * 1024) })
    for (const url of jsonPostUrls()) {
      assertGnapError(await post(url, big), 413, 'invalid_request')
    }
  })

  test('a body that is not JSON is 415 on every listener', async () => {
    for (const url of jsonPostUrls()) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const res = await post(url, 'client=x', { 'content-type': type })
        assertGnapError(res, 415, 'invalid_request', 'request body must be application/json')
      }
    }
  })

  test('Accept: text/html on a JSON endpoint is 406 on every listener', async () => {
    const headers = { accept: 'text/html' }
    const answers: TestResponse[] = [
      await post(server.grantUrl, validGrant(), headers),
      await post(`${server.introspectionUrl}/`, '{"access_token":"x"}', headers),
      await send(idpGrantUrl, { headers: { ...headers, 'x-idp-secret': server.idpSecret } }),
      await send(`${server.authUrl}/token/x`, { method: 'DELETE', headers })
    ]
    for (const res of answers) {
      assertGnapError(res, 406, 'invalid_request', 'Must accept application/json')
    }
  })
})

describe('malformed ids in paths are GNAP errors, never 500', () => {
  const authz = { authorization: 'GNAP some-token', accept: 'application/json' }
  test('/continue/not-a-uuid', async () => {
    for (const method of ['POST', 'DELETE']) {
      const res = await send(`${server.authUrl}/continue/not-a-uuid`, { method, headers: authz })
      assertGnapError(res, 401, 'invalid_continuation', 'invalid grant')
    }
    const noToken = await send(`${server.authUrl}/continue/not-a-uuid`, { method: 'POST' })
    assertGnapError(noToken, 401, 'invalid_continuation', 'missing continuation information')
  })

  test('/token/x', async () => {
    for (const method of ['POST', 'DELETE']) {
      const res = await send(`${server.authUrl}/token/x`, { method, headers: authz })
      assertGnapError(res, 401, 'invalid_client', 'invalid access token')
    }
  })

  test('/interact/x/y and /interact/x/y/finish', async () => {
    const start = await send(`${server.authUrl}/interact/x/y`, {})
    assertGnapError(start, 400, 'unknown_interaction', 'unknown interaction')
    const finish = await send(`${server.authUrl}/interact/x/y/finish`, {})
    assertGnapError(finish, 404, 'unknown_interaction', 'unknown interaction')
  })

  test('IdP /grant/x/y and /grant/x/y/accept', async () => {
    const headers = { 'x-idp-secret': server.idpSecret }
    const details = await send(`${server.interactionUrl}/grant/x/y`, { headers })
    assertGnapError(details, 404, 'unknown_interaction', 'unknown interaction')
    const choice = await post(`${server.interactionUrl}/grant/x/y/accept`, '{}', headers)
    assertGnapError(choice, 404, 'unknown_interaction', 'unknown interaction')
  })
})

describe('the IdP secret', () => {
  const secret = () => server.idpSecret
  const wrongSecrets = () => [
    {
      name: 'wrong, same length',
      value: `${secret().slice(0, -1)}${secret().endsWith('x') ? 'y' : 'x'}`
    },
    { name: 'shorter', value: secret().slice(0, 3) },
    { name: '1000 characters', value: 'x'.repeat(1000) },
    { name: 'missing', value: undefined }
  ]
  const withSecret = (value: string | undefined): Record<string, string> =>
    value === undefined ? {} : { 'x-idp-secret': value }

  test('details: a bad secret is 401 invalid_request, never 500', async () => {
    for (const { name, value } of wrongSecrets()) {
      const res = await send(idpGrantUrl, { headers: withSecret(value) })
      assert.equal(res.status, 401, `${name}: ${res.text}`)
      assertGnapError(res, 401, 'invalid_request', 'invalid x-idp-secret')
    }
  })

  test('accept / reject: a bad secret is 401 invalid_interaction, never 500', async () => {
    for (const choice of ['accept', 'reject']) {
      for (const { name, value } of wrongSecrets()) {
        const res = await post(`${idpGrantUrl}/${choice}`, '{}', withSecret(value))
        assert.equal(res.status, 401, `${choice} ${name}: ${res.text}`)
        assertGnapError(res, 401, 'invalid_interaction', 'invalid x-idp-secret')
      }
    }
  })

  test('an invalid choice is 400 invalid_request', async () => {
    const res = await post(`${idpGrantUrl}/maybe`, '{}', withSecret(secret()))
    assertGnapError(res, 400, 'invalid_request', 'invalid interaction choice')
  })

  test('after all those refusals the interaction is still pending', async () => {
    const res = await send(idpGrantUrl, { headers: withSecret(secret()) })
    assert.equal(res.status, 200, res.text)
    assert.equal((res.body as { state: string }).state, 'PENDING')
  })
})
