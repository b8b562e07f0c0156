import assert from 'node:assert/strict'
import { after, before, describe, test, type TestContext } from 'node:test'
import fc from 'fast-check'
import {
  acceptArb,
  anyJson,
  bodyArb,
  contentTypeArb,
  continueBodyArb,
  grantBodyArb,
  nearArb,
  queryArb,
  refsArb,
  segmentArb,
  tokened
} from './support/arbitraries.js'
import { bodyContext, fuzz } from './support/run.js'
import type { InjectRequest } from './support/signing.js'
import {
  cat,
  fixtureNames,
  fixturesIn,
  noBody,
  type BodySpec,
  type FixtureName,
  type Sym
} from './support/symbols.js'
import { startFuzzWorld, type ExchangeOptions, type FuzzWorld } from './support/world.js'

/**
 * Property-based fuzzing of the GNAP client API with requests correctly signed by a real client
 * (RFC 9421 as the Open Payments SDKs sign), so that validation past the signature is reached:
 * grant bodies with a field wrong, continuations with odd interact_refs, tokens of the wrong
 * grant, fuzzed ids and queries. Some are then tampered with, signed with the wrong key or
 * stale, or sent twice (a replay). Properties: no 5xx, every refusal a GNAP error object,
 * no refusal changes the database (checked per request); a request without a valid signature
 * of the grant's client (signed by another client or an unknown key, changed after signing,
 * `created` outside the accepted window) is refused, and so changes nothing; and no replay of
 * an accepted continuation or token management request is accepted; a replayed grant request
 * (signed without a nonce, as the SDKs sign) is served again (SIGNATURE_REPLAY=standard).
 */

let world: FuzzWorld

before(async () => {
  // A wait of one second makes polls and continuations both succeed and hit too_fast.
  world = await startFuzzWorld({ WAIT_SECONDS: '1' })
})
after(async () => {
  await world?.close()
})

const ctx = () => bodyContext(world)

/** What is done to a signed request before it is sent. */
const tampers = [
  'none',
  'body',
  'query',
  'authorization',
  'signature',
  'drop-digest',
  'content-type',
  'accept',
  'method'
] as const
type Tamper = (typeof tampers)[number]

interface SignedCase {
  method: 'POST' | 'DELETE'
  path: Sym
  query: string
  token: Sym | undefined
  body: BodySpec
  signer: 'client' | 'other' | 'stranger'
  accept: string | undefined
  contentType: string | undefined
  createdOffset: number
  digest: 'sha-256' | 'sha-512'
  label: string
  components: { drop?: number; add?: string }
  tamper: Tamper
  replay: boolean
}

type W<T> = { weight: number; arbitrary: fc.Arbitrary<T> }
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): W<T> => ({ weight, arbitrary })

function signedCaseArb(parts: {
  method: 'POST' | 'DELETE'
  path: fc.Arbitrary<Sym>
  token: fc.Arbitrary<Sym | undefined>
  body: fc.Arbitrary<BodySpec>
}): fc.Arbitrary<SignedCase> {
  return fc.record({
    method: fc.constant(parts.method),
    path: parts.path,
    query: fc.oneof(w(6, fc.constant('')), w(1, queryArb)),
    token: parts.token,
    body: parts.body,
    signer: fc.oneof(
      w(16, fc.constant('client' as const)),
      w(1, fc.constantFrom('other' as const, 'stranger' as const))
    ),
    accept: fc.oneof(w(8, fc.constant('application/json')), w(1, acceptArb)),
    contentType: fc.oneof(w(12, fc.constant(undefined)), w(1, contentTypeArb)),
    createdOffset: fc.oneof(
      w(12, fc.constant(0)),
      w(2, fc.integer({ min: -290, max: 50 })),
      w(1, fc.constantFrom(-400, 120, -100_000))
    ),
    digest: fc.constantFrom('sha-512' as const, 'sha-256' as const),
    label: fc.oneof(w(8, fc.constant('sig1')), w(1, fc.constantFrom('sig', 'gnap', 'a1'))),
    components: fc.oneof(
      w(12, fc.constant({})),
      w(
        1,
        fc.nat({ max: 5 }).map((drop) => ({ drop }))
      ),
      w(
        1,
        fc.constantFrom('@authority', '@path', '@query', '@scheme').map((add) => ({ add }))
      )
    ),
    tamper: fc.oneof(w(16, fc.constant('none' as const)), w(1, fc.constantFrom(...tampers))),
    replay: fc.oneof(w(7, fc.constant(false)), w(1, fc.constant(true)))
  })
}

const withHeader = (req: InjectRequest, name: string, value: string | undefined) => {
  const headers = { ...req.headers }
  if (value === undefined) delete headers[name]
  else headers[name] = value
  return { ...req, headers }
}

/** A signed request changed after signing: every change of a covered part must be refused. */
function tamper(req: InjectRequest, how: Tamper): InjectRequest {
  switch (how) {
    case 'none':
      return req
    case 'body': {
      const payload = Buffer.concat([req.payload ?? Buffer.from('{}'), Buffer.from(' ')])
      const typed = withHeader(
        req,
        'content-type',
        req.headers['content-type'] ?? 'application/json'
      )
      return { ...withHeader(typed, 'content-length', String(payload.length)), payload }
    }
    case 'query':
      return { ...req, url: `${req.url}${req.url.includes('?') ? '&' : '?'}x=1` }
    case 'authorization': {
      const auth = req.headers.authorization
      return withHeader(req, 'authorization', auth ? auth.replace(/^GNAP/, 'gnap') : 'GNAP x')
    }
    case 'signature': {
      const sig = req.headers.signature ?? ''
      const at = sig.indexOf(':') + 1
      const flipped = sig.slice(0, at) + (sig[at] === 'A' ? 'B' : 'A') + sig.slice(at + 1)
      return withHeader(req, 'signature', flipped)
    }
    case 'drop-digest':
      return withHeader(req, 'content-digest', undefined)
    case 'content-type':
      return withHeader(req, 'content-type', 'application/json; charset=utf-8')
    case 'accept':
      return withHeader(req, 'accept', '*/*')
    case 'method':
      return { ...req, method: req.method === 'POST' ? 'DELETE' : 'POST' }
  }
}

/** The request a case stands for, signed now (fixtures resolved as they are now). */
function signCase(c: SignedCase): { req: InjectRequest; tampered: boolean } {
  const headers: Record<string, string> = {}
  if (c.accept !== undefined) headers.accept = c.accept
  if (c.contentType !== undefined) headers['content-type'] = c.contentType
  const signer =
    c.signer === 'client' ? world.client : c.signer === 'other' ? world.other : world.stranger
  const signed = world.sign({
    method: c.method,
    url: world.resolve(c.path) + c.query,
    body: world.bodyBytes(c.body),
    ...(c.token !== undefined ? { token: world.resolve(c.token) } : {}),
    signer,
    headers,
    createdOffset: c.createdOffset,
    digest: c.digest,
    label: c.label,
    components: (sdk) => {
      if (c.components.add !== undefined) return [...sdk, c.components.add]
      if (c.components.drop !== undefined) return sdk.filter((_, i) => i !== c.components.drop)
      return sdk
    }
  })
  // Accept is never covered; Content-Type and Content-Digest only with a body.
  const uncovered =
    c.tamper === 'none' ||
    c.tamper === 'accept' ||
    (signed.payload === undefined && (c.tamper === 'content-type' || c.tamper === 'drop-digest'))
  return { req: tamper(signed, c.tamper), tampered: !uncovered }
}

// verify.ts: `created` may be at most this far ahead of the server's clock (not configurable).
const MAX_FUTURE_SKEW_SECONDS = 60
// Seconds that may pass between signing a request and its verification (`created` is read off
// the clock before the request is sent): a future `created` this close to the limit may pass.
const CLOCK_SLACK_SECONDS = 5

/**
 * Why a case's signature is not a valid one of the client the request acts for, or undefined
 * if it may be. Every fixture belongs to `world.client`, and every grant body names it (or a
 * wallet address of no registered client: see grantClientArb), so only its key signs validly.
 */
function invalidSignature(c: SignedCase, tampered: boolean): string | undefined {
  if (c.signer === 'other') return "signed by another client's key"
  if (c.signer === 'stranger') {
    return "signed under the client's key id by a key it does not publish"
  }
  if (tampered) return `changed after signing (tamper: ${c.tamper})`
  const maxAge = world.server.services.config.signatureMaxAgeSeconds
  if (c.createdOffset < -maxAge) return `created ${-c.createdOffset} s ago, max age ${maxAge} s`
  if (c.createdOffset > MAX_FUTURE_SKEW_SECONDS + CLOCK_SLACK_SECONDS) {
    return `created ${c.createdOffset} s ahead, max skew ${MAX_FUTURE_SKEW_SECONDS} s`
  }
  return undefined
}

async function sendSigned(target: string, c: SignedCase): Promise<void> {
  const touches = fixturesIn(c)
  let tampered = false
  // Decided once the request is signed (the first exchange); a replay is the same bytes.
  const signature: ExchangeOptions = { uncredentialed: () => invalidSignature(c, tampered) }
  const first = await world.exchange(
    target,
    'auth',
    () => {
      const signed = signCase(c)
      tampered = signed.tampered
      return signed.req
    },
    touches,
    signature
  )
  if (c.replay) {
    // The very same bytes again.
    const again = await world.exchange(target, 'auth', first.sent, touches, signature)
    if (first.status < 400) {
      const grantRequest = c.method === 'POST' && c.token === undefined
      assert.equal(
        again.status,
        grantRequest ? first.status : 401,
        `a replay of an accepted request: ${again.text}`
      )
    }
  }
}

const fuzzSigned = (t: TestContext, target: string, arb: fc.Arbitrary<SignedCase>) =>
  fuzz(world, t, target, arb, (c) => sendSigned(target, c))

// Twice as often a live token as a dead (revoked, rotated) one: only a live one gets past the
// token check to the signature and the rotation or revocation.
const liveTokensFirst: readonly FixtureName[] = [...tokened, 'issued', 'directed']

/** Mostly no body, as the SDKs send these; sometimes one anyway. */
const strayBody: fc.Arbitrary<BodySpec> = fc.oneof(
  w(12, fc.constant(noBody)),
  w(1, fc.constant<BodySpec>({ kind: 'json', value: {} })),
  w(
    1,
    anyJson(2).map((value): BodySpec => ({ kind: 'json', value }))
  )
)

describe('the signing is right', () => {
  test('a request signed exactly as the SDKs sign succeeds on every signed endpoint', async () => {
    // WAIT_SECONDS=1: continuing within a second of the grant request would be too fast.
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const grant = {
      client: world.client.walletAddress,
      access_token: { access: [{ type: 'incoming-payment', actions: ['read'] }] }
    }
    const cases: [string, SignedCase['method'], () => string, unknown, FixtureName | undefined][] =
      [
        ['POST /', 'POST', () => '/', grant, undefined],
        ['POST /:tenantId', 'POST', () => `/${world.server.tenantId}`, grant, undefined],
        [
          'POST /continue/:id',
          'POST',
          () => `/continue/${world.fixtures.approved.continueId}`,
          {},
          'approved'
        ],
        [
          'DELETE /continue/:id',
          'DELETE',
          () => `/continue/${world.fixtures.pending.continueId}`,
          undefined,
          'pending'
        ],
        [
          'POST /token/:id',
          'POST',
          () => `/token/${world.fixtures.issued.manageId}`,
          undefined,
          'issued'
        ],
        [
          'DELETE /token/:id',
          'DELETE',
          () => `/token/${world.fixtures.directed.manageId}`,
          undefined,
          'directed'
        ]
      ]
    for (const [name, method, url, body, fixture] of cases) {
      const res = await world.exchange(
        `baseline ${name}`,
        'auth',
        () => {
          const f = fixture && world.fixtures[fixture]
          const token = name.includes('continue') ? f?.continueToken : f?.token
          const value =
            name === 'POST /continue/:id'
              ? { interact_ref: world.fixtures.approved.interactRef }
              : body
          return world.sign({
            method,
            url: url(),
            signer: world.client,
            ...(value !== undefined ? { body: Buffer.from(JSON.stringify(value)) } : {}),
            ...(token !== undefined ? { token } : {})
          })
        },
        new Set(fixture ? [fixture] : [])
      )
      assert.ok(res.status >= 200 && res.status < 300, `${name}: ${res.status} ${res.text}`)
    }
  })
})

describe('signed grant requests', () => {
  test('POST / (operator tenant)', async (t) => {
    const arb = signedCaseArb({
      method: 'POST',
      path: fc.constant('/'),
      token: fc.constant(undefined),
      body: bodyArb(grantBodyArb(ctx()), 1, 40)
    })
    await fuzzSigned(t, 'signed POST /', arb)
  })

  test('POST /:tenantId', async (t) => {
    const arb = signedCaseArb({
      method: 'POST',
      path: segmentArb(nearArb(world.server.tenantId), 120).map((s) => cat('/', s)),
      token: fc.constant(undefined),
      body: bodyArb(grantBodyArb(ctx()), 1, 40)
    })
    await fuzzSigned(t, 'signed POST /:tenantId', arb)
  })
})

describe('signed continuation and token management', () => {
  const managed = (
    method: 'POST' | 'DELETE',
    prefix: '/continue/' | '/token/',
    relevant: readonly FixtureName[]
  ) => {
    const fields =
      prefix === '/continue/'
        ? (['continueId', 'continueToken', 'interactRef'] as const)
        : (['manageId', 'token', 'interactRef'] as const)
    return refsArb(relevant, fields).chain(([id, token, ref]) =>
      signedCaseArb({
        method,
        // Mostly the real id: the path is fuzzed unsigned already.
        path: segmentArb(fc.constant(id!), 120).map((s) => cat(prefix, s)),
        token: fc.oneof(w(12, fc.constant(token)), w(1, fc.constant(undefined))),
        body:
          method === 'POST' && prefix === '/continue/'
            ? continueBodyArb(fc.constant(ref!))
            : strayBody
      })
    )
  }

  for (const method of ['POST', 'DELETE'] as const) {
    test(`${method} /continue/:id`, async (t) => {
      await fuzzSigned(
        t,
        `signed ${method} /continue/:id`,
        managed(method, '/continue/', fixtureNames)
      )
    })

    test(`${method} /token/:id`, async (t) => {
      await fuzzSigned(
        t,
        `signed ${method} /token/:id`,
        managed(method, '/token/', liveTokensFirst)
      )
    })
  }
})
