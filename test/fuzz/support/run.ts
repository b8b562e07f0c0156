import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import fc from 'fast-check'
import type { ListenerName } from '../../../src/app.js'
import {
  acceptArb,
  anyMethod,
  contentTypeArb,
  miscHeadersArb,
  queryArb,
  signatureFieldsArb,
  strayBody,
  type BodyContext
} from './arbitraries.js'
import { cat, fixturesIn, type BodySpec, type RequestSpec, type Sym } from './symbols.js'
import { fuzzParameters, fuzzRuns, type ExchangeOptions, type FuzzWorld } from './world.js'

/**
 * Runs one fuzz target: FUZZ_RUNS generated cases, each sending at least one request through
 * `world.exchange` (which asserts the properties), then reports what was sent.
 */
export async function fuzz<T>(
  world: FuzzWorld,
  t: TestContext,
  target: string,
  arb: fc.Arbitrary<T>,
  run: (value: T) => Promise<void>
): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, run), fuzzParameters<[T]>())
  for (const line of world.report(target)) t.diagnostic(line)
  const sent = world.stats.get(target)?.requests ?? 0
  assert.ok(sent >= fuzzRuns, `${target}: ${sent} requests sent, ${fuzzRuns} expected`)
}

/** What plausible bodies are built from: the fixtures' client and the wallet-address server. */
export function bodyContext(world: FuzzWorld): BodyContext {
  return {
    walletAddress: world.client.walletAddress,
    otherWalletAddresses: [world.other.walletAddress],
    jwk: world.client.publicJwk as unknown as Record<string, string>,
    walletsUrl: world.walletsUrl
  }
}

/** An unsigned request: the endpoint's own parts plus generic headers, query and signatures. */
export function requestArb(
  world: FuzzWorld,
  parts: {
    method: fc.Arbitrary<string>
    path: fc.Arbitrary<Sym>
    body: fc.Arbitrary<BodySpec>
    headers?: fc.Arbitrary<Record<string, Sym | undefined>>
    /** Accept and Content-Type values for the endpoint; the generic ones otherwise. */
    accept?: fc.Arbitrary<string | undefined>
    contentType?: fc.Arbitrary<string | undefined>
  }
): fc.Arbitrary<RequestSpec> {
  return fc
    .record({
      method: parts.method,
      path: parts.path,
      query: queryArb,
      accept: parts.accept ?? acceptArb,
      contentType: parts.contentType ?? contentTypeArb,
      signature: signatureFieldsArb([world.client.keyId, world.other.keyId]),
      misc: fc.option(miscHeadersArb, { nil: undefined, freq: 3 }),
      own: parts.headers ?? fc.constant({}),
      body: parts.body
    })
    .map((r): RequestSpec => ({
      method: r.method,
      url: cat(r.path, r.query),
      headers: {
        accept: r.accept,
        'content-type': r.body.kind === 'none' ? undefined : r.contentType,
        ...r.signature,
        ...r.misc,
        ...r.own
      },
      body: r.body
    }))
}

/**
 * Fuzzes one endpoint with unsigned requests. `options.uncredentialed` says which of them carry
 * no valid credential for the endpoint (all of them, on a route that requires a signature):
 * those must be refused.
 */
export function fuzzUnsigned(
  world: FuzzWorld,
  t: TestContext,
  target: string,
  listener: ListenerName,
  arb: fc.Arbitrary<RequestSpec>,
  options: ExchangeOptions = {}
): Promise<void> {
  return fuzz(world, t, target, arb, async (spec) => {
    await world.exchange(target, listener, () => world.toInject(spec), fixturesIn(spec), options)
  })
}

/**
 * Every declared route of `listeners` was reached by some request (Prometheus counts requests by
 * route pattern): a route added without a fuzz target fails here.
 */
export async function assertEveryRouteReached(
  world: FuzzWorld,
  listeners: readonly ListenerName[]
): Promise<string[]> {
  const metric = world.server.services.metrics.registry.getSingleMetric('opas_http_requests_total')
  assert.ok(metric, 'opas_http_requests_total is registered')
  const { values } = await metric.get()
  const hits = new Map<string, number>()
  for (const { labels, value } of values) {
    const key = `${String(labels.listener)} ${String(labels.method)} ${String(labels.route)}`
    hits.set(key, (hits.get(key) ?? 0) + value)
  }
  const lines: string[] = []
  for (const listener of listeners) {
    for (const route of world.server.apps[listener].declaredRoutes) {
      for (const method of [route.method].flat()) {
        const key = `${listener} ${method} ${route.url}`
        const n = hits.get(key) ?? 0
        assert.ok(
          n > 0,
          `no fuzzed request reached ${key} (reached: ${[...hits.keys()].join(', ')})`
        )
        lines.push(`${key}: ${n}`)
      }
    }
  }
  return lines
}

/** Any method on known paths of every listener, their neighbours and random paths. */
export function unknownRoutesArb(world: FuzzWorld): fc.Arbitrary<RequestSpec> {
  const known = [
    '/',
    '/discovery',
    '/healthz',
    '/readyz',
    '/metrics',
    '/continue',
    '/continue/',
    '/token',
    '/interact',
    '/grant',
    `/${world.server.tenantId}`,
    '/*'
  ]
  const any = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._~-]{0,12}$/),
    fc
      .string({ unit: 'grapheme', maxLength: 8 })
      .map((s) => encodeURIComponent(s.replace(/\p{Cs}/gu, ''))),
    fc.constantFrom('%', '%ZZ', '%2F', '%00', 'a'.repeat(150))
  )
  const path = fc.oneof(
    fc.constantFrom(...known),
    fc
      .tuple(fc.constantFrom(...known), fc.array(any, { minLength: 1, maxLength: 4 }))
      .map(([k, rest]) => `${k.replace(/\/$/, '')}/${rest.join('/')}`),
    fc.array(any, { maxLength: 6 }).map((segs) => `/${segs.join('/')}`),
    fc.constantFrom('//', '/./discovery', '/%2e%2e/discovery', '/Discovery', '/healthz/', '*')
  )
  return requestArb(world, {
    method: anyMethod,
    path,
    body: strayBody,
    // CORS preflights (OPTIONS with these) are answered by @fastify/cors.
    headers: fc.record(
      {
        origin: fc.constantFrom('http://wallet.example', 'null'),
        'access-control-request-method': fc.constantFrom('POST', 'DELETE', 'PUT', 'x'),
        'access-control-request-headers': fc.constantFrom('signature, signature-input', '*')
      },
      { requiredKeys: [] }
    )
  })
}
