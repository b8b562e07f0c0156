import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { routeAuthKinds } from '../../src/http/route-auth.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

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

type Listener = 'auth' | 'interaction' | 'introspection' | 'admin'
const listeners: Listener[] = ['auth', 'interaction', 'introspection', 'admin']
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

/** @fastify/cors' own preflight route: answers OPTIONS with CORS headers, runs nothing of ours. */
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

  test('no route under a GNAP client path escapes signature verification', () => {
    const found = routesOf('auth').filter((r) => isGnapClientPath(r.url))
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
  // The CORS preflight is exempt: Rafiki has CORS on this listener too, and a preflight never
  // reaches an IdP handler (the actual request still needs x-idp-secret).
  test("every route but the probes and the CORS preflight is 'idp-secret' with authenticateIdp", () => {
    const routes = routesOf('interaction').filter((r) => !probes.has(r.url) && !isCorsPreflight(r))
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

  test('the probes and the CORS preflight are the only unauthenticated routes there', () => {
    for (const route of routesOf('interaction')) {
      if (authOf(route) === 'idp-secret') continue
      assert.ok(probes.has(route.url) || isCorsPreflight(route), label(route))
      assert.deepEqual(hookNames(route, 'preHandler'), [], label(route))
    }
  })

  test('a CORS preflight to the IdP back channel runs no IdP logic', async () => {
    const res = await fetch(`${server.interactionUrl}/grant/x/y/accept`, {
      method: 'OPTIONS',
      headers: { origin: 'https://idp.example', 'access-control-request-method': 'POST' }
    })
    assert.equal(res.status, 204)
    assert.equal(await res.text(), '')
  })
})

describe('admin listener: operators only', () => {
  test('it serves /metrics and the probes, reads only, and has no CORS (no web page may read it)', () => {
    const routes = routesOf('admin')
    assert.deepEqual([...new Set(routes.map((r) => r.url))].sort(), [
      '/healthz',
      '/metrics',
      '/readyz'
    ])
    for (const route of routes) {
      for (const method of methodsOf(route))
        assert.ok(['GET', 'HEAD'].includes(method), label(route))
    }
  })
})
