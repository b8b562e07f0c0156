import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { routeAuthKinds } from '../../src/http/route-auth.js'
import { apiSignatureHeader } from '../../src/tenant/api-signature.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { answerConsentScreen, openConsentScreen } from '../helpers/interaction-driver.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { send, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import { consoleClient } from '../helpers/console-client.js'
import { addTenant } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  createGrantFlows,
  nonInteractiveGrantBody,
  type GrantFlows
} from './support/grant-flows.js'

/**
 * The route table as declared: every route says how it authenticates its caller, and the
 * routes that must be authenticated carry the hook that does it. A new route without either
 * fails here before it can ship unauthenticated.
 */

let server: TestServer

before(async () => {
  server = await startTestServer()
})
after(async () => {
  await server.close()
})

type Listener = 'auth' | 'interaction' | 'introspection' | 'admin' | 'service'
const listeners: Listener[] = ['auth', 'interaction', 'introspection', 'admin', 'service']
const probes = new Set(['/healthz', '/readyz'])

const methodsOf = (route: RouteOptions) => [route.method].flat().map((m) => m.toUpperCase())
const authOf = (route: RouteOptions) => (route.config as { auth?: unknown } | undefined)?.auth
const label = (route: RouteOptions) => `${methodsOf(route).join('|')} ${route.url}`

/** Names of the functions of one route-level hook. */
function hookNames(route: RouteOptions, hook: 'onRequest' | 'preValidation' | 'preHandler') {
  const value = (route as unknown as Record<string, unknown>)[hook]
  const fns = value === undefined ? [] : [value].flat()
  return fns.map((fn) => (typeof fn === 'function' ? fn.name : String(fn)))
}

const routesOf = (listener: Listener): RouteOptions[] => server.apps[listener].declaredRoutes

/** The hook that verifies the client signature, per GNAP client route. */
const signatureHookOf: Record<string, string> = {
  'POST /': 'verifyGrantRequest',
  'POST /:tenantId': 'verifyGrantRequest',
  'POST /continue/:id': 'authenticateContinuation',
  'DELETE /continue/:id': 'authenticateContinuation',
  'POST /token/:id': 'authenticateToken',
  'DELETE /token/:id': 'authenticateToken'
}
const signatureHooks = new Set(Object.values(signatureHookOf))

/**
 * @fastify/cors' own preflight route (the auth listener's alone): answers OPTIONS with CORS
 * headers, runs nothing of ours.
 */
const isCorsPreflight = (route: RouteOptions) =>
  route.url === '*' && methodsOf(route).every((m) => m === 'OPTIONS')

/** A path of the GNAP client API (grant endpoint, continuation, token management). */
const isGnapClientPath = (url: string) =>
  url === '/' || url === '/:tenantId' || /^\/(continue|token)(\/|$)/.test(url)

describe('every listener', () => {
  for (const listener of listeners) {
    test(`${listener}: every route declares config.auth`, () => {
      const routes = routesOf(listener)
      assert.ok(routes.length > 0, 'routes were recorded')
      for (const route of routes) {
        assert.ok(
          (routeAuthKinds as readonly unknown[]).includes(authOf(route)),
          `${listener} ${label(route)} declares config.auth (got ${String(authOf(route))})`
        )
      }
    })

    test(`${listener}: the recorded routes are the routes served`, () => {
      const app: FastifyInstance = server.apps[listener]
      for (const route of routesOf(listener)) {
        for (const method of methodsOf(route)) {
          assert.ok(
            // `*` (the CORS preflight) is registered, and found, as `/*`.
            app.hasRoute({
              method: method as 'GET',
              url: route.url.startsWith('/') ? route.url : `/${route.url}`
            }),
            `${method} ${route.url}`
          )
        }
      }
    })

    test(`${listener}: a 'client-signature' route has a signature-verifying preHandler`, () => {
      for (const route of routesOf(listener).filter((r) => authOf(r) === 'client-signature')) {
        const hooks = hookNames(route, 'preHandler')
        assert.ok(
          hooks.some((name) => signatureHooks.has(name)),
          `${listener} ${label(route)} preHandler ${JSON.stringify(hooks)}`
        )
      }
    })

    test(`${listener}: 'idp-secret' routes are only on the interaction listener`, () => {
      if (listener === 'interaction') return
      for (const route of routesOf(listener)) {
        assert.notEqual(authOf(route), 'idp-secret', `${listener} ${label(route)}`)
        assert.ok(!route.url.startsWith('/grant/'), `IdP route on ${listener}: ${label(route)}`)
      }
    })
  }
})

describe('auth listener: the GNAP client API', () => {
  test('each GNAP client route exists, is client-signature, and verifies with its own hook', () => {
    const routes = routesOf('auth')
    for (const [key, hook] of Object.entries(signatureHookOf)) {
      const [method, url] = key.split(' ') as [string, string]
      const route = routes.find((r) => r.url === url && methodsOf(r).includes(method))
      assert.ok(route, `${key} is declared`)
      assert.equal(authOf(route), 'client-signature', key)
      assert.ok(hookNames(route, 'preHandler').includes(hook), `${key} preHandler has ${hook}`)
    }
  })

  // RFC 9635 §9: OPTIONS on a grant endpoint is discovery, open to anyone (it reads nothing of a
  // grant); nothing else under a client path is unsigned.
  const isDiscovery = (route: RouteOptions) =>
    route.config?.discovery === true && methodsOf(route).every((m) => m === 'OPTIONS')

  test('discovery (OPTIONS on the grant endpoints) is the only unsigned route there', () => {
    const discovery = routesOf('auth').filter(isDiscovery)
    assert.deepEqual(discovery.map((r) => r.url).sort(), ['/', '/:tenantId'])
    for (const route of discovery) assert.equal(authOf(route), 'none', label(route))
  })

  test('no route under a GNAP client path escapes signature verification', () => {
    const found = routesOf('auth').filter((r) => isGnapClientPath(r.url) && !isDiscovery(r))
    assert.ok(found.length >= Object.keys(signatureHookOf).length, 'client routes were found')
    for (const route of found) {
      assert.equal(authOf(route), 'client-signature', label(route))
      const hooks = hookNames(route, 'preHandler')
      const expected = methodsOf(route).map((m) => signatureHookOf[`${m} ${route.url}`])
      assert.ok(
        expected.every((hook) => hook !== undefined && hooks.includes(hook)),
        `${label(route)}: preHandler ${JSON.stringify(hooks)}, expected ${JSON.stringify(expected)}`
      )
    }
  })

  test('every state-changing route on the public listener is client-signature, but the consent form', () => {
    for (const route of routesOf('auth')) {
      if (methodsOf(route).every((m) => ['GET', 'HEAD', 'OPTIONS'].includes(m))) continue
      if (route.url === '/interact/:id/:nonce/consent') continue
      assert.equal(authOf(route), 'client-signature', label(route))
    }
  })

  test("the built-in consent screen is 'browser-session'; its form checks session and CSRF token first", () => {
    const consent = routesOf('auth').filter((r) => r.url === '/interact/:id/:nonce/consent')
    assert.deepEqual(consent.map((r) => methodsOf(r).join('|')).sort(), ['GET', 'HEAD', 'POST'])
    for (const route of consent) {
      assert.equal(authOf(route), 'browser-session', label(route))
      const expected = methodsOf(route).includes('POST')
        ? ['requireConsentSession', 'verifyConsentForm']
        : ['requireConsentSession']
      assert.deepEqual(hookNames(route, 'preHandler'), expected, label(route))
    }
  })
})

describe('interaction listener: the IdP back channel', () => {
  test("every route but the probes is 'idp-secret' with authenticateIdp", () => {
    const routes = routesOf('interaction').filter((r) => !probes.has(r.url))
    assert.ok(
      routes.some((r) => r.url === '/grant/:id/:nonce'),
      'details route found'
    )
    assert.ok(
      routes.some((r) => r.url === '/grant/:id/:nonce/:choice'),
      'choice route found'
    )
    for (const route of routes) {
      assert.equal(authOf(route), 'idp-secret', label(route))
      const hooks = hookNames(route, 'preHandler')
      assert.ok(hooks.includes('authenticateIdp'), `${label(route)}: ${JSON.stringify(hooks)}`)
    }
  })

  test('the probes are the only unauthenticated routes there', () => {
    for (const route of routesOf('interaction')) {
      if (authOf(route) === 'idp-secret') continue
      assert.ok(probes.has(route.url), label(route))
      assert.deepEqual(hookNames(route, 'preHandler'), [], label(route))
    }
  })

  // The IdP calls from its server (x-idp-secret must never reach a browser): no CORS here, unlike
  // Rafiki (issue 24). A preflight is an OPTIONS like any other, answered 405 and running nothing.
  test('a CORS preflight to the IdP back channel is not answered as one and runs no IdP logic', async () => {
    const res = await fetch(`${server.interactionUrl}/grant/x/y/accept`, {
      method: 'OPTIONS',
      headers: { origin: 'https://idp.example', 'access-control-request-method': 'POST' }
    })
    assert.equal(res.status, 405)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    assert.equal(res.headers.get('allow'), 'POST')
  })
})

describe('admin listener: operators only', () => {
  const consolePages = [
    '/',
    '/activity',
    '/console.js',
    '/grants',
    '/grants/:id',
    '/grants/:id/revoke',
    '/overview',
    '/overview/charts',
    '/sign-in',
    '/sign-out',
    '/tenants',
    '/tenants/:id',
    '/tenants/:id/delete',
    '/tenants/new',
    '/webhooks',
    '/webhooks/:id/retry'
  ]

  test('it serves /metrics, the probes, the signed GraphQL API and the console, and has no CORS', () => {
    const routes = routesOf('admin')
    assert.deepEqual(
      [...new Set(routes.map((r) => r.url))].sort(),
      ['/graphql', '/healthz', '/metrics', '/readyz', ...consolePages].sort()
    )
    for (const route of routes) {
      assert.ok(!methodsOf(route).includes('OPTIONS'), `no CORS preflight: ${label(route)}`)
      if (methodsOf(route).every((m) => ['GET', 'HEAD'].includes(m))) continue
      // What changes anything: the GraphQL API (a tenant's signature), the console's forms.
      if (route.url === '/graphql') assert.equal(authOf(route), 'tenant-signature')
      else if (route.url === '/sign-in') assert.equal(authOf(route), 'console-sign-in')
      else {
        assert.equal(authOf(route), 'console-session', label(route))
        const hooks = hookNames(route, 'preHandler')
        assert.equal(hooks[0], 'requireSession', label(route))
        assert.equal(hooks.at(-1), 'verifyForm', `${label(route)}: the form token is checked`)
      }
    }
  })

  test('every console page but sign-in and its script needs the session', () => {
    for (const route of routesOf('admin').filter((r) => consolePages.includes(r.url))) {
      if (['/', '/console.js', '/sign-in'].includes(route.url)) continue
      assert.equal(authOf(route), 'console-session', label(route))
      assert.equal(hookNames(route, 'preHandler')[0], 'requireSession', label(route))
    }
  })
})

/**
 * The hooks do what their names say: for every route that authenticates, a request aimed at a
 * live grant, token or interaction but lacking the credential is refused by the hook, and the
 * same request with the credential is then served (so the refusal was the hook's, not a dead
 * target's). A hook emptied of its check, or a new authenticating route without a case here,
 * fails.
 */
describe('each authenticating hook refuses a request without its credential', () => {
  let world: ServerWithClient
  let operator: GrantFlows
  let tenant: GrantFlows
  let tenantServer: TestServer

  before(async () => {
    // No IdP for the operator tenant: its interactions open the built-in consent screen. A
    // second tenant has an IdP, for the back channel's routes.
    world = await startServerWithClient({
      IDENTITY_SERVER_URL: '',
      SERVICE_API_SECRET: 'route-table-service-secret-of-32-characters'
    })
    tenantServer = await addTenant(world.server, {
      consentUrl: 'http://127.0.0.1:9/idp/consent',
      secret: 'route-table-idp-secret'
    })
    const account = `${world.wallets.url}/alice`
    operator = createGrantFlows(world.server, world.app, account)
    tenant = createGrantFlows(tenantServer, world.app, account)
  })
  after(() => world.close())

  const json = { 'content-type': 'application/json', accept: 'application/json' }
  const noSignature = 'invalid signature headers: Signature and Signature-Input are required'
  const unsigned = (url: string, method: string, token?: string, body?: unknown) =>
    send(url, {
      method,
      headers: { ...json, ...(token === undefined ? {} : { authorization: `GNAP ${token}` }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })

  interface Case {
    /** The request without the credential, and the refusal expected of the hook. */
    refused: () => Promise<TestResponse>
    status: number
    code: string
    description: string
    /** The same request with its credential, and the status it gets then. */
    served: () => Promise<TestResponse>
    servedStatus: number
    /** The refusal is a GraphQL error (`errors[0].extensions.code`), not a GNAP one. */
    graphql?: true
    /** The refusal is a console page (its status is what counts). */
    page?: true
  }

  /** The cases of a GET route and of the HEAD route Fastify adds beside it. */
  const forGetAndHead = (
    listener: Listener,
    url: string,
    build: (method: 'GET' | 'HEAD') => Promise<Case>
  ) =>
    Object.fromEntries(
      (['GET', 'HEAD'] as const).map((method) => [
        `${listener} ${method} ${url}`,
        () => build(method)
      ])
    )

  /** A client-signature route: unsigned, refused by the signature check; signed, served. */
  const signatureCase = (
    refused: Case['refused'],
    served: Case['served'],
    servedStatus: number
  ): Case => ({
    refused,
    status: 401,
    code: 'invalid_client',
    description: noSignature,
    served,
    servedStatus
  })

  /** A grant request at `url`: a grant the operator tenant issues at once when it is signed. */
  const grantCase = (url: string) =>
    signatureCase(
      () => unsigned(url, 'POST', undefined, nonInteractiveGrantBody(world.app)),
      () => signedRequest(url, { client: world.app, body: nonInteractiveGrantBody(world.app) }),
      200
    )

  /** A service API route: without the bearer token refused, with it served. */
  const serviceCase =
    (
      method: string,
      path: (id: string) => string,
      body: (id: string) => unknown,
      servedStatus: number
    ) =>
    async (): Promise<Case> => {
      const { tenantId } = await addTenant(world.server, {
        consentUrl: 'http://127.0.0.1:9/idp/consent',
        secret: 'service-case-idp-secret'
      })
      const id = method === 'POST' ? randomUUID() : tenantId
      const request = (headers: Record<string, string>) =>
        send(`${world.server.serviceUrl}${path(id)}`, {
          method,
          headers: { ...json, ...headers },
          ...(method === 'GET' || method === 'HEAD' ? {} : { body: JSON.stringify(body(id)) })
        })
      return {
        refused: () => request({}),
        status: 401,
        code: 'unauthorized',
        description: 'a valid bearer token is required',
        served: () => request({ authorization: `Bearer ${world.server.env.SERVICE_API_SECRET}` }),
        servedStatus
      }
    }
  const tenantPath = (id: string) => `/tenant/${id}`

  /** A console route: without the session cookie refused with a page; signed in, served. */
  const consoleCase =
    (
      method: string,
      path: (target: { grantId: string; tenantId: string }) => string,
      servedStatus: number,
      form?: Record<string, string>
    ) =>
    async (): Promise<Case> => {
      const browser = consoleClient(world.server.adminUrl)
      const signedIn = await browser.signIn(
        world.server.tenantId,
        world.server.env.ADMIN_API_SECRET!
      )
      assert.equal(signedIn.status, 303)
      const { token } = await operator.requestNonInteractive()
      const grantId = (await operator.introspect(token.value)).grant!
      const { tenantId } = await addTenant(world.server, {
        consentUrl: 'http://127.0.0.1:9/idp/consent',
        secret: 'console-case-idp-secret'
      })
      const url = path({ grantId, tenantId })
      const request = async (cookie: string | undefined) => {
        const body = form && { ...form, csrf: await browser.formToken() }
        const res = await fetch(`${world.server.adminUrl}${url}`, {
          method,
          redirect: 'manual',
          headers: {
            accept: 'text/html',
            ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            ...(cookie ? { cookie } : {})
          },
          ...(body ? { body: new URLSearchParams(body).toString() } : {})
        })
        return { status: res.status, headers: res.headers, text: await res.text(), body: undefined }
      }
      return {
        refused: () => request(undefined),
        status: 401,
        code: '',
        description: '',
        served: () => request(`opas_console=${browser.jar.get('opas_console')!}`),
        servedStatus,
        page: true
      }
    }
  const consoleGet = (url: string, path: Parameters<typeof consoleCase>[1]) =>
    Object.fromEntries(
      (['GET', 'HEAD'] as const).map((m) => [`admin ${m} ${url}`, consoleCase(m, path, 200)])
    )

  /** Built per route when its test runs: each gets live targets of its own. */
  const cases: Record<string, () => Promise<Case>> = {
    'auth POST /': async () => grantCase(`${world.server.authUrl}/`),
    'auth POST /:tenantId': async () => grantCase(world.server.grantUrl),
    'auth POST /continue/:id': async () => {
      const pending = await operator.requestInteractive({ finish: false })
      return signatureCase(
        () => unsigned(pending.continueUri, 'POST', pending.continueToken, {}),
        () => operator.continueGrant(pending),
        200
      )
    },
    'auth DELETE /continue/:id': async () => {
      const pending = await operator.requestInteractive()
      return signatureCase(
        () => unsigned(pending.continueUri, 'DELETE', pending.continueToken),
        () => operator.cancelGrant(pending),
        204
      )
    },
    'auth POST /token/:id': async () => {
      const { token } = await operator.requestNonInteractive()
      return signatureCase(
        () => unsigned(token.manage, 'POST', token.value),
        () => operator.rotate(token),
        200
      )
    },
    'auth DELETE /token/:id': async () => {
      const { token } = await operator.requestNonInteractive()
      return signatureCase(
        () => unsigned(token.manage, 'DELETE', token.value),
        () => operator.revoke(token),
        204
      )
    },
    ...forGetAndHead('auth', '/interact/:id/:nonce/consent', async (method) => {
      const opened = await openConsentScreen((await operator.requestInteractive()).redirect)
      return {
        refused: () => send(opened.url, { method, headers: json }),
        status: 403,
        code: 'invalid_request',
        description: 'invalid session',
        served: () => send(opened.url, { method, headers: { cookie: opened.cookie } }),
        servedStatus: 200
      }
    }),
    'auth POST /interact/:id/:nonce/consent': async () => {
      const opened = await openConsentScreen((await operator.requestInteractive()).redirect)
      return {
        // With the session but a forged form: the second hook's refusal (the first's is above).
        refused: () =>
          answerConsentScreen({ ...opened, headers: json }, 'accept', { csrf: 'forged' }),
        status: 403,
        code: 'invalid_request',
        description: 'invalid consent form',
        served: () => answerConsentScreen(opened, 'accept'),
        servedStatus: 303
      }
    },
    ...forGetAndHead('auth', '/interact/:id/:nonce/finish', async (method) => {
      const opened = await openConsentScreen((await operator.requestInteractive()).redirect)
      assert.equal((await answerConsentScreen(opened, 'accept')).status, 303)
      const finish = opened.url.replace(/\/consent$/, '/finish')
      return {
        refused: () => send(finish, { method, headers: json }),
        status: 401,
        code: 'invalid_request',
        description: 'invalid session',
        served: () => send(finish, { method, headers: { cookie: opened.cookie } }),
        servedStatus: 302
      }
    }),
    ...forGetAndHead('interaction', '/grant/:id/:nonce', async (method) => {
      const started = await tenant.startInteraction((await tenant.requestInteractive()).redirect)
      const url = `${world.server.interactionUrl}/grant/${started.id}/${started.nonce}`
      return {
        refused: () => send(url, { method, headers: json }),
        status: 401,
        code: 'invalid_request',
        description: 'invalid x-idp-secret',
        served: () =>
          send(url, { method, headers: { ...json, 'x-idp-secret': tenantServer.idpSecret } }),
        servedStatus: 200
      }
    }),
    'interaction POST /grant/:id/:nonce/:choice': async () => {
      const started = await tenant.startInteraction((await tenant.requestInteractive()).redirect)
      return {
        refused: () =>
          send(`${world.server.interactionUrl}/grant/${started.id}/${started.nonce}/accept`, {
            method: 'POST',
            headers: json,
            body: '{}'
          }),
        status: 401,
        code: 'invalid_interaction',
        description: 'invalid x-idp-secret',
        served: () => tenant.idpChoose(started.id, started.nonce, 'accept'),
        servedStatus: 202
      }
    },
    'admin POST /graphql': async () => {
      const body = { query: '{ grants { edges { cursor } } }' }
      const request = (headers: Record<string, string>) =>
        send(`${world.server.adminUrl}/graphql`, {
          method: 'POST',
          headers: { ...json, ...headers },
          body: JSON.stringify(body)
        })
      const config = world.server.services.config
      return {
        refused: () => request({ 'tenant-id': config.operatorTenantId }),
        status: 401,
        code: 'UNAUTHENTICATED',
        description: 'the tenant-id and signature headers are required',
        served: () =>
          request({
            'tenant-id': config.operatorTenantId,
            signature: apiSignatureHeader(config.adminApiSecret, 1, body, Date.now())
          }),
        servedStatus: 200,
        graphql: true
      }
    },
    ...consoleGet('/activity', () => '/activity'),
    ...consoleGet('/grants', () => '/grants'),
    ...consoleGet('/grants/:id', ({ grantId }) => `/grants/${grantId}`),
    ...consoleGet('/grants/:id/revoke', ({ grantId }) => `/grants/${grantId}/revoke`),
    ...consoleGet('/overview', () => '/overview'),
    ...consoleGet('/overview/charts', () => '/overview/charts'),
    ...consoleGet('/tenants', () => '/tenants'),
    ...consoleGet('/tenants/new', () => '/tenants/new'),
    ...consoleGet('/tenants/:id', ({ tenantId }) => `/tenants/${tenantId}`),
    ...consoleGet('/tenants/:id/delete', ({ tenantId }) => `/tenants/${tenantId}/delete`),
    ...consoleGet('/webhooks', () => '/webhooks'),
    // No webhook is sent in this world: an unknown delivery's 404 page is past both hooks.
    'admin POST /webhooks/:id/retry': consoleCase(
      'POST',
      () => `/webhooks/${randomUUID()}/retry`,
      404,
      {}
    ),
    'admin POST /grants/:id/revoke': consoleCase(
      'POST',
      ({ grantId }) => `/grants/${grantId}/revoke`,
      303,
      {}
    ),
    'admin POST /tenants': consoleCase('POST', () => '/tenants', 303, {
      id: randomUUID(),
      apiSecret: `console-case-api-secret-${randomUUID()}`
    }),
    'admin POST /tenants/:id': consoleCase('POST', ({ tenantId }) => `/tenants/${tenantId}`, 303, {
      idpConsentUrl: 'https://idp.example/consent'
    }),
    'admin POST /tenants/:id/delete': consoleCase(
      'POST',
      ({ tenantId }) => `/tenants/${tenantId}/delete`,
      303,
      {}
    ),
    'admin POST /sign-out': consoleCase('POST', () => '/sign-out', 303, {}),
    'admin POST /sign-in': async () => {
      const browser = consoleClient(world.server.adminUrl)
      const credentials = {
        tenantId: world.server.tenantId,
        apiSecret: world.server.env.ADMIN_API_SECRET!
      }
      return {
        refused: () =>
          browser
            .post('/sign-in', { ...credentials, csrf: 'forged' })
            .then((r) => ({ ...r, body: undefined })),
        status: 403,
        code: '',
        description: '',
        served: () =>
          browser
            .signIn(credentials.tenantId, credentials.apiSecret)
            .then((r) => ({ ...r, body: undefined })),
        servedStatus: 303,
        page: true
      }
    },
    'service POST /tenant': serviceCase(
      'POST',
      () => '/tenant',
      (id) => ({ id, apiSecret: `service-case-api-secret-${id}` }),
      204
    ),
    'service GET /tenant/:id': serviceCase('GET', tenantPath, () => undefined, 200),
    'service HEAD /tenant/:id': serviceCase('HEAD', tenantPath, () => undefined, 200),
    'service PATCH /tenant/:id': serviceCase(
      'PATCH',
      tenantPath,
      () => ({ apiSecret: `service-case-api-secret-${randomUUID()}` }),
      204
    ),
    'service DELETE /tenant/:id': serviceCase(
      'DELETE',
      tenantPath,
      () => ({ deletedAt: new Date().toISOString() }),
      204
    )
  }

  test('every authenticating route has a case', () => {
    const authenticating = listeners.flatMap((listener) =>
      routesOf(listener)
        .filter((r) => authOf(r) !== 'none' && !isCorsPreflight(r))
        .flatMap((r) => methodsOf(r).map((m) => `${listener} ${m} ${r.url}`))
    )
    assert.deepEqual(authenticating.sort(), Object.keys(cases).sort())
  })

  for (const [route, build] of Object.entries(cases)) {
    test(route, async () => {
      const c = await build()
      const refused = await c.refused()
      if (route.includes(' HEAD ') || c.page) assert.equal(refused.status, c.status, refused.text)
      else if (c.graphql) {
        assert.equal(refused.status, c.status, refused.text)
        const { errors } = refused.body as {
          errors: { message: string; extensions: { code: string } }[]
        }
        assert.deepEqual([errors[0]!.extensions.code, errors[0]!.message], [c.code, c.description])
      } else assertGnapError(refused, c.status, c.code, c.description)
      const served = await c.served()
      assert.equal(served.status, c.servedStatus, served.text)
    })
  }
})
