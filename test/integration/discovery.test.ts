import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { send } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { addTenant, deleteTenant } from '../helpers/tenants.js'

/**
 * What opas says about itself: RFC 9635 §9 discovery by OPTIONS on a grant endpoint, Rafiki's
 * `GET /discovery`, and RFC 9767 §3.1's `/.well-known/gnap-as-rs` for resource servers.
 */

let server: TestServer
before(async () => {
  server = await startTestServer()
})
after(() => server.close())

const discover = (url: string, headers: Record<string, string> = {}) =>
  send(url, { method: 'OPTIONS', headers })

const rfcDiscovery = (grantRequestEndpoint: string) => ({
  grant_request_endpoint: grantRequestEndpoint,
  interaction_start_modes_supported: ['redirect'],
  interaction_finish_methods_supported: ['redirect'],
  key_proofs_supported: ['httpsig'],
  sub_id_formats_supported: ['uri'],
  key_rotation_supported: false
})

describe('RFC 9635 §9: OPTIONS on a grant endpoint', () => {
  test('the operator endpoint answers JSON with the RFC field names and its own URL', async () => {
    const res = await discover(`${server.authUrl}/`)
    assert.equal(res.status, 200, res.text)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    assert.deepEqual(res.body, rfcDiscovery(`${server.services.config.authServerUrl}/`))
  })

  test("a tenant's endpoint names the URL the client called (§9: it MUST match)", async () => {
    const url = server.grantUrl
    assert.deepEqual((await discover(url)).body, rfcDiscovery(url))
    // The .NET and PHP SDKs add a slash: the endpoint they called, as they called it.
    assert.deepEqual((await discover(`${url}/`)).body, rfcDiscovery(`${url}/`))
    // A query is not part of the endpoint.
    assert.deepEqual((await discover(`${url}?x=1`)).body, rfcDiscovery(url))
  })

  test('an unknown, malformed or deleted tenant has no grant endpoint to discover: 404', async () => {
    assertGnapError(await discover(`${server.authUrl}/${randomUUID()}`), 404, 'invalid_request')
    assertGnapError(await discover(`${server.authUrl}/not-a-tenant`), 404, 'invalid_request')
    const gone = await addTenant(server, {
      consentUrl: 'http://127.0.0.1:9/',
      secret: 's'.repeat(32)
    })
    assert.equal((await discover(gone.grantUrl)).status, 200)
    await deleteTenant(server, gone.tenantId)
    assertGnapError(await discover(gone.grantUrl), 404, 'invalid_request', 'unknown tenant')
  })

  test("a browser's CORS preflight to the grant endpoint is still answered as a preflight", async () => {
    const res = await discover(`${server.authUrl}/`, {
      origin: 'https://wallet-app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, signature, signature-input'
    })
    assert.equal(res.status, 204)
    assert.equal(res.text, '')
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD, POST, DELETE')
  })

  test('a bare OPTIONS elsewhere on the auth listener is not discovery', async () => {
    const res = await discover(`${server.authUrl}/continue/${randomUUID()}`)
    assert.equal(res.status, 204)
    assert.equal(res.text, '')
  })

  test("GET /discovery keeps Rafiki's field names", async () => {
    const res = await send(`${server.authUrl}/discovery`, {})
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, {
      grant_request_endpoint: `${server.services.config.authServerUrl}/`,
      interaction_start_modes_supported: ['redirect'],
      interaction_finish_modes_supported: ['redirect'],
      key_proofs_supported: ['httpsig'],
      sub_id_formats_supported: ['uri']
    })
  })
})

describe('RFC 9767 §3.1: /.well-known/gnap-as-rs', () => {
  const expected = () => ({
    grant_request_endpoint: `${server.services.config.authServerUrl}/`,
    introspection_endpoint: `${server.env.INTROSPECTION_URL}/`,
    token_formats_supported: [],
    key_proofs_supported: ['httpsig']
  })

  test('the auth and introspection listeners serve it, naming both endpoints', async () => {
    for (const base of [server.authUrl, server.introspectionUrl]) {
      const res = await send(`${base}/.well-known/gnap-as-rs`, {})
      assert.equal(res.status, 200, `${base}: ${res.text}`)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      assert.deepEqual(res.body, expected())
    }
  })

  test('the other listeners do not', async () => {
    for (const base of [server.interactionUrl, server.adminUrl, server.serviceUrl]) {
      const res = await send(`${base}/.well-known/gnap-as-rs`, {})
      assert.equal(res.status, 404, base)
    }
  })
})

describe('INTROSPECTION_URL', () => {
  test('names the introspection endpoint as resource servers reach it', async () => {
    const other = await startTestServer({ INTROSPECTION_URL: 'https://introspect.wallet.example/' })
    try {
      const res = await send(`${other.authUrl}/.well-known/gnap-as-rs`, {})
      assert.equal(
        (res.body as { introspection_endpoint: string }).introspection_endpoint,
        'https://introspect.wallet.example/'
      )
    } finally {
      await other.close()
    }
  })
})
