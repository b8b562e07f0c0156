import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { ListenerName } from '../../src/app.js'
import { runOpas } from '../helpers/opas-process.js'
import { send, type TestResponse } from '../helpers/signed-request.js'
import { authServiceClient } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { productionEnv } from '../helpers/production-env.js'

/**
 * Issue 24 (1): the service API can be driven by no web page, and by no one beyond loopback
 * unless the operator says so. Only the auth listener answers CORS (browser-based GNAP clients);
 * the others, servers' and operators' doors, answer none, and the service API refuses what a
 * browser sends. Production refuses a service API beyond loopback without a secret; every start
 * says so in a warning when it is open.
 */

const evil = 'https://evil.example'

const corsHeadersOf = (res: TestResponse) =>
  [...res.headers.keys()].filter((name) => name.startsWith('access-control-'))

const preflight = (url: string, method: string) =>
  send(url, {
    method: 'OPTIONS',
    headers: {
      origin: evil,
      'access-control-request-method': method,
      'access-control-request-headers': 'content-type, authorization'
    }
  })

describe('CORS: the auth listener only', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  /** On each internal listener, a path that takes a state-changing method. */
  const internalTargets: [ListenerName, string, string][] = [
    ['interaction', '/grant/x/y/accept', 'POST'],
    ['introspection', '/', 'POST'],
    ['admin', '/graphql', 'POST'],
    ['service', '/tenant/00000000-0000-4000-8000-000000000000', 'DELETE']
  ]

  for (const [listener, path, method] of internalTargets) {
    test(`${listener}: a cross-origin preflight and request get no Access-Control-* header`, async () => {
      const url = `${server.urls[listener]}${path}`
      const answered = await preflight(url, method)
      assert.deepEqual(corsHeadersOf(answered), [], `preflight: ${answered.status}`)
      assert.notEqual(answered.status, 204, 'not answered as a CORS preflight')
      const request = await send(url, {
        method,
        headers: { origin: evil, 'content-type': 'application/json' },
        body: '{}'
      })
      assert.deepEqual(corsHeadersOf(request), [], `request: ${request.status}`)
      const probe = await send(`${server.urls[listener]}/healthz`, { headers: { origin: evil } })
      assert.deepEqual(corsHeadersOf(probe), [], 'probe')
    })
  }

  test('only the auth listener declares a CORS preflight route', () => {
    for (const listener of ['auth', 'interaction', 'introspection', 'admin', 'service'] as const) {
      const options = server.apps[listener].declaredRoutes.filter((r) =>
        [r.method].flat().includes('OPTIONS')
      )
      // The auth listener's others are its grant endpoints' discovery (RFC 9635 §9).
      const preflight = options.filter((r) => r.config?.discovery !== true)
      assert.deepEqual(
        preflight.map((r) => r.url),
        listener === 'auth' ? ['*'] : [],
        listener
      )
      assert.equal(options.length, listener === 'auth' ? 3 : 0, listener)
    }
  })

  test('auth: browser-based GNAP clients still get CORS, without credentials', async () => {
    const answered = await preflight(`${server.authUrl}/${server.tenantId}`, 'POST')
    assert.equal(answered.status, 204)
    assert.equal(answered.headers.get('access-control-allow-origin'), '*')
    assert.match(answered.headers.get('access-control-allow-methods') ?? '', /POST/)
    assert.equal(answered.headers.get('access-control-allow-credentials'), null)
    const discovery = await send(`${server.authUrl}/discovery`, { headers: { origin: evil } })
    assert.equal(discovery.status, 200)
    assert.equal(discovery.headers.get('access-control-allow-origin'), '*')
  })
})

describe('service API: servers only', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  const operatorUrl = () => `${server.serviceUrl}/tenant/${server.tenantId}`
  const json = { 'content-type': 'application/json' }

  test("a browser's DELETE or PATCH of the operator tenant is refused, and changes nothing", async () => {
    // As a page sends it: cross-origin, or same-origin after its name was rebound (DNS
    // rebinding), where CORS never applies; either way with Origin and Sec-Fetch-Site.
    const browsers: Record<string, string>[] = [
      { origin: evil, 'sec-fetch-site': 'cross-site' },
      { origin: server.serviceUrl, 'sec-fetch-site': 'same-origin' },
      { origin: evil },
      { 'sec-fetch-site': 'same-origin' }
    ]
    for (const headers of browsers) {
      const deleted = await send(operatorUrl(), {
        method: 'DELETE',
        headers: { ...json, ...headers },
        body: JSON.stringify({ deletedAt: '2020-01-01T00:00:00Z' })
      })
      assert.equal(deleted.status, 403, deleted.text)
      assert.deepEqual(deleted.body, {
        error: {
          code: 'request_denied',
          description:
            'this API is for servers: a request from a browser (with Origin or Sec-Fetch-Site) is refused'
        }
      })
      const patched = await send(operatorUrl(), {
        method: 'PATCH',
        headers: { ...json, ...headers },
        body: JSON.stringify({ apiSecret: 'chosen-by-the-page-and-long-enough' })
      })
      assert.equal(patched.status, 403, patched.text)
    }
    // A form's simple POST, which no preflight precedes, is refused too.
    const created = await send(`${server.serviceUrl}/tenant`, {
      method: 'POST',
      headers: { origin: 'null', 'content-type': 'text/plain' },
      body: '{}'
    })
    assert.equal(created.status, 403)
    // The operator tenant is still there, undeleted.
    assert.equal((await authServiceClient(server.serviceUrl).get(server.tenantId)).status, 200)
  })

  test("a server's call (Node's fetch, as Rafiki's backend sends it) is served", async () => {
    const res = await authServiceClient(server.serviceUrl).get(server.tenantId)
    assert.equal(res.status, 200)
  })
})

describe('start-up warnings about the service API', () => {
  /** A test server started with `env`, and the warn lines its start logged (synchronously). */
  async function warningsOfStart(env: Record<string, string>): Promise<string[]> {
    const lines: string[] = []
    const server = await startTestServer(
      { LOG_LEVEL: 'warn', ...env },
      { logStream: { write: (line) => void lines.push(line) } }
    )
    try {
      const port = (server.apps.service.server.address() as AddressInfo).port
      return lines
        .map((line) => JSON.parse(line) as { level: number; msg: string; listener?: string })
        .filter((entry) => entry.level === 40 && entry.listener === 'service')
        .map((entry) => entry.msg.replaceAll(String(port), 'PORT'))
    } finally {
      await server.close()
    }
  }

  test('on loopback with no secret, in development: no warning', async () => {
    assert.deepEqual(await warningsOfStart({}), [])
  })

  test('beyond loopback without a secret, in development: one warning, in plain words', async () => {
    // `127.1` is a name (not an IP literal), so opas counts it as beyond loopback, while the
    // resolver binds it to 127.0.0.1: the warning's path without opening a port to the network.
    assert.deepEqual(await warningsOfStart({ SERVICE_API_LISTEN_HOST: '127.1' }), [
      'the service API (port PORT) listens on 127.1 without SERVICE_API_SECRET: anyone who ' +
        "reaches this port can create, change and delete tenants, the operator's included. Set " +
        'SERVICE_API_SECRET, or SERVICE_API_LISTEN_HOST=127.0.0.1'
    ])
  })

  test('SERVICE_API_AUTH=none warns on every start, production included', async () => {
    const expected = [
      'the service API accepts unauthenticated calls (SERVICE_API_AUTH=none): any process on ' +
        "this host that reaches port PORT can create, change and delete tenants, the operator's " +
        "included. Keep it on a private network that only Rafiki's backend reaches"
    ]
    assert.deepEqual(await warningsOfStart({ SERVICE_API_AUTH: 'none' }), expected)
    assert.deepEqual(
      await warningsOfStart({
        SERVICE_API_AUTH: 'none',
        NODE_ENV: 'production',
        ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION: 'true'
      }),
      expected
    )
  })
})

test('each listener binds its own *_LISTEN_HOST, LISTEN_HOST otherwise', async () => {
  const server = await startTestServer({ SERVICE_API_LISTEN_HOST: '127.0.0.2' })
  try {
    const addressOf = (listener: ListenerName) =>
      (server.apps[listener].server.address() as AddressInfo).address
    assert.equal(addressOf('service'), '127.0.0.2')
    for (const listener of ['auth', 'interaction', 'introspection', 'admin'] as const) {
      assert.equal(addressOf(listener), '127.0.0.1', listener)
    }
    assert.equal((await authServiceClient(server.serviceUrl).get(server.tenantId)).status, 200)
  } finally {
    await server.close()
  }
})

test('production: `opas start` and `opas config check` refuse an open service API, naming SERVICE_API_SECRET', async () => {
  const env = {
    ...productionEnv,
    // Never reached: the configuration is refused first.
    AUTH_DATABASE_URL: 'postgresql://opas@127.0.0.1:9/opas',
    LISTEN_HOST: '0.0.0.0'
  }
  const runs = [runOpas(['start'], env), runOpas(['config', 'check'], env)]
  for (const run of runs) {
    assert.equal(await run.exited, 1, run.output())
    assert.match(run.output(), /invalid configuration:\n/)
    assert.match(
      run.output(),
      /^ {2}- SERVICE_API_SECRET is required when NODE_ENV=production and the service API listens beyond loopback \(SERVICE_API_LISTEN_HOST=0\.0\.0\.0\)/m
    )
  }
})
