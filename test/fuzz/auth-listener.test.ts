import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import {
  authorizationArb,
  bodyArb,
  browserAcceptArb,
  consentFormArb,
  continueBodyArb,
  cookieArb,
  formContentTypeArb,
  getOrHead,
  grantBodyArb,
  interactive,
  nearArb,
  refArb,
  refsArb,
  segmentArb,
  strayBody,
  tokened
} from './support/arbitraries.js'
import {
  assertEveryRouteReached,
  bodyContext,
  fuzzUnsigned,
  requestArb,
  unknownRoutesArb
} from './support/run.js'
import { cat, fixtureNames } from './support/symbols.js'
import { startFuzzWorld, type ExchangeOptions, type FuzzWorld } from './support/world.js'

/**
 * Property-based fuzzing of every route of the auth listener (the public one) with unsigned or
 * wrongly signed requests: whatever the body, headers, ids, query or method, no answer is a 5xx,
 * every refusal is a GNAP error object, and no refusal changes the database. On the routes that
 * require the client's signature (grant requests, continuation, token management) every answer
 * is a refusal, so none of these requests changes the database. Requests aim at live rows (a
 * pending grant, an issued token...) most of the time; correctly signed requests are fuzzed in
 * signed-requests.test.ts.
 */

let world: FuzzWorld

before(async () => {
  // No IdP: interactions start on the built-in consent screen, which is fuzzed here too.
  world = await startFuzzWorld({ IDENTITY_SERVER_URL: '' })
})
after(async () => {
  await world?.close()
})

const ctx = () => bodyContext(world)

/**
 * For the signed routes: no request here carries a valid signature. signatureFieldsArb gives
 * none, structured-field garbage, or well-formed fields whose signature is random bytes.
 */
const unsigned: ExchangeOptions = {
  uncredentialed: () => 'no valid signature: none, garbage or random bytes'
}

describe('auth listener: grant requests', () => {
  // Grant requests carry no token; a client may send one anyway.
  const grantHeaders = () =>
    fc.record({
      authorization: fc.option(authorizationArb(refArb(fixtureNames, 'token')), {
        nil: undefined,
        freq: 2
      })
    })

  test('POST / (operator tenant)', async (t) => {
    const arb = requestArb(world, {
      method: fc.constant('POST'),
      path: fc.constant('/'),
      headers: grantHeaders(),
      body: bodyArb(grantBodyArb(ctx()))
    })
    await fuzzUnsigned(world, t, 'auth POST /', 'auth', arb, unsigned)
  })

  test('POST /:tenantId', async (t) => {
    const arb = requestArb(world, {
      method: fc.constant('POST'),
      path: segmentArb(nearArb(world.server.tenantId)).map((s) => cat('/', s)),
      headers: grantHeaders(),
      body: bodyArb(grantBodyArb(ctx()))
    })
    await fuzzUnsigned(world, t, 'auth POST /:tenantId', 'auth', arb, unsigned)
  })
})

describe('auth listener: continuation and token management', () => {
  const managed = (
    method: 'POST' | 'DELETE',
    prefix: '/continue/' | '/token/',
    fields: ['continueId', 'continueToken'] | ['manageId', 'token']
  ) =>
    refsArb(prefix === '/token/' ? tokened : fixtureNames, [...fields, 'interactRef']).chain(
      ([id, token, ref]) =>
        requestArb(world, {
          method: fc.constant(method),
          path: segmentArb(fc.constant(id!)).map((s) => cat(prefix, s)),
          headers: fc.record({ authorization: authorizationArb(fc.constant(token!)) }),
          body:
            method === 'POST' && prefix === '/continue/'
              ? continueBodyArb(fc.constant(ref!))
              : strayBody
        })
    )

  for (const method of ['POST', 'DELETE'] as const) {
    test(`${method} /continue/:id`, async (t) => {
      const arb = managed(method, '/continue/', ['continueId', 'continueToken'])
      await fuzzUnsigned(world, t, `auth ${method} /continue/:id`, 'auth', arb, unsigned)
    })

    test(`${method} /token/:id`, async (t) => {
      const arb = managed(method, '/token/', ['manageId', 'token'])
      await fuzzUnsigned(world, t, `auth ${method} /token/:id`, 'auth', arb, unsigned)
    })
  }
})

describe('auth listener: the browser front channel', () => {
  const interaction = (
    suffix: '' | '/finish' | '/consent',
    form?: Pick<Parameters<typeof requestArb>[1], 'method' | 'body' | 'contentType'>
  ) =>
    refsArb(interactive, ['interactId', 'nonce', 'cookie']).chain(([id, nonce, cookie]) =>
      requestArb(world, {
        method: getOrHead,
        path: fc
          .tuple(segmentArb(fc.constant(id!)), segmentArb(fc.constant(nonce!)))
          .map(([i, n]) => cat('/interact/', i, '/', n, suffix)),
        headers: fc.record({
          cookie: cookieArb(fc.constant(cookie!), refArb(fixtureNames, 'interactId'))
        }),
        body: strayBody,
        ...(suffix === '/consent' ? { accept: browserAcceptArb } : {}),
        ...form
      })
    )

  test('GET /interact/:id/:nonce', async (t) => {
    await fuzzUnsigned(world, t, 'auth GET /interact/:id/:nonce', 'auth', interaction(''))
  })

  test('GET /interact/:id/:nonce/finish', async (t) => {
    const target = 'auth GET /interact/:id/:nonce/finish'
    await fuzzUnsigned(world, t, target, 'auth', interaction('/finish'))
  })

  // The built-in consent screen (this world has no IdP, so interactions start there).
  test('GET /interact/:id/:nonce/consent', async (t) => {
    const target = 'auth GET /interact/:id/:nonce/consent'
    await fuzzUnsigned(world, t, target, 'auth', interaction('/consent'))
  })

  test('POST /interact/:id/:nonce/consent', async (t) => {
    const target = 'auth POST /interact/:id/:nonce/consent'
    const arb = interaction('/consent', {
      method: fc.constant('POST'),
      body: consentFormArb(refArb(interactive, 'csrf')),
      contentType: formContentTypeArb
    })
    await fuzzUnsigned(world, t, target, 'auth', arb)
  })
})

describe('auth listener: discovery, probes, unknown routes', () => {
  for (const path of ['/discovery', '/.well-known/gnap-as-rs', '/healthz', '/readyz']) {
    test(`GET ${path}`, async (t) => {
      const arb = requestArb(world, {
        method: getOrHead,
        path: fc.constant(path),
        body: strayBody
      })
      await fuzzUnsigned(world, t, `auth GET ${path}`, 'auth', arb)
    })
  }

  // RFC 9635 §9: discovery on the operator's grant endpoint and on a tenant's; any other path is
  // @fastify/cors' own `OPTIONS *` (a one-segment path is a tenant's endpoint, so the unknown
  // routes below reach `*` only by chance).
  test('OPTIONS on the grant endpoints and elsewhere', async (t) => {
    for (const [route, path] of [
      ['/', '/'],
      ['/:tenantId', `/${world.server.tenantId}`],
      ['*', '/continue/00000000-0000-4000-8000-000000000000']
    ] as const) {
      const arb = requestArb(world, {
        method: fc.constant('OPTIONS'),
        path: fc.constant(path),
        body: strayBody
      })
      await fuzzUnsigned(world, t, `auth OPTIONS ${route}`, 'auth', arb)
    }
  })

  test('unknown routes and unusual methods', async (t) => {
    await fuzzUnsigned(world, t, 'auth unknown routes', 'auth', unknownRoutesArb(world))
  })

  test('every route of the auth listener was reached', async (t) => {
    for (const line of await assertEveryRouteReached(world, ['auth'])) t.diagnostic(line)
  })
})
