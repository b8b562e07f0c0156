import { METHODS } from 'node:http'
import fc from 'fast-check'
import {
  BodyDigest,
  Now,
  Ref,
  cat,
  fixtureNames,
  mutate,
  mutations,
  noBody,
  type BodySpec,
  type FixtureField,
  type FixtureName,
  type Sym
} from './symbols.js'

/**
 * Generators of request parts. Most of what they produce is almost right (a real id, a real
 * token, a plausible body with one field wrong) so that requests get past the first check;
 * the rest is garbage. No generated URL that opas might fetch (a client's wallet address)
 * points anywhere but the local wallet-address server or a closed local port.
 */

type Weighted<T> = { weight: number; arbitrary: fc.Arbitrary<T> }
export const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): Weighted<T> => ({
  weight,
  arbitrary
})

/** Mostly `valid`, sometimes `mutant`: one field wrong at a time keeps requests plausible. */
const mut = <T, U>(valid: fc.Arbitrary<T>, mutant: fc.Arbitrary<U>, validWeight = 24) =>
  fc.oneof(w<T | U>(validWeight, valid), w<T | U>(1, mutant))

/** A field of a fixture; mostly exact, sometimes a near miss. */
export function refArb(fixtures: readonly FixtureName[], field: FixtureField): fc.Arbitrary<Ref> {
  return fc
    .tuple(
      fc.constantFrom(...fixtures),
      fc.oneof(w(6, fc.constant('none' as const)), w(1, fc.constantFrom(...mutations)))
    )
    .map(([fixture, mutation]) => new Ref(fixture, field, mutation))
}

/**
 * Several fields at once (an id and its token): mostly of one of the `relevant` fixtures, so
 * that the pair matches a live row, sometimes of different or irrelevant ones.
 */
export function refsArb(
  relevant: readonly FixtureName[],
  fields: readonly FixtureField[]
): fc.Arbitrary<Ref[]> {
  const mutation = fc.oneof(
    w(10, fc.constant('none' as const)),
    w(1, fc.constantFrom(...mutations))
  )
  const fixture = fc.oneof(
    w(4, fc.constantFrom(...relevant)),
    w(1, fc.constantFrom(...fixtureNames))
  )
  const same = fc
    .tuple(fixture, fc.array(mutation, { minLength: fields.length, maxLength: fields.length }))
    .map(([f, ms]) => fields.map((field, i) => new Ref(f, field, ms[i])))
  const mixed = fc.tuple(...fields.map((field) => refArb(fixtureNames, field)))
  return fc.oneof(w(4, same), w(1, mixed))
}

/** The fixtures with an interaction. */
export const interactive: readonly FixtureName[] = ['pending', 'pollable', 'approved', 'rejected']
/** The fixtures with an access token, live or dead. */
export const tokened: readonly FixtureName[] = ['issued', 'directed', 'revoked', 'rotated']

/** A constant (a tenant id, a secret): mostly exact, sometimes a near miss. */
export function nearArb(value: string): fc.Arbitrary<string> {
  return fc.oneof(
    w(6, fc.constant(value)),
    w(
      1,
      fc.constantFrom(...mutations).map((m) => mutate(value, m))
    )
  )
}

/** Characters an HTTP field value may carry (RFC 9110 §5.5: VCHAR, SP, HTAB, obs-text). */
const fieldChar = fc
  .oneof(
    w(8, fc.integer({ min: 0x20, max: 0x7e })),
    w(1, fc.integer({ min: 0x80, max: 0xff })),
    w(1, fc.constant(0x09))
  )
  .map((c) => String.fromCharCode(c))
export const fieldText = (maxLength = 60) => fc.string({ unit: fieldChar, maxLength })

/** JSON of any shape (fast-check's own generators). */
export const anyJson = (maxDepth = 3) => fc.jsonValue({ maxDepth })

const jsonTokens = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  '\\',
  'null',
  'true',
  '1e999',
  '"client"',
  '"__proto__"',
  ' '
]

/** Bodies that are not JSON, or JSON that parsers disagree on. */
export const nonJsonBody: fc.Arbitrary<BodySpec> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes): BodySpec => ({ kind: 'bytes', bytes })),
  fc.string({ maxLength: 80 }).map((text): BodySpec => ({ kind: 'text', text })),
  fc
    .array(fc.constantFrom(...jsonTokens), { maxLength: 30 })
    .map((t): BodySpec => ({ kind: 'text', text: t.join('') })),
  fc.tuple(fc.json({ maxDepth: 3 }), fc.nat()).map(([text, cut]): BodySpec => ({
    kind: 'text',
    text: text.slice(0, cut % (text.length + 1))
  })),
  fc
    .constantFrom(
      '\ufeff{}',
      '{"a":1,"a":2}',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '{"a":"\\ud800"}',
      'NaN',
      '-0',
      '1e999',
      '"x"',
      '[]',
      'null',
      'client=x&access_token=y',
      '<xml/>'
    )
    .map((text): BodySpec => ({ kind: 'text', text })),
  // Invalid UTF-8 inside a JSON string.
  fc.constant<BodySpec>({ kind: 'bytes', bytes: Buffer.from('{"client":"\xff\xfe"}', 'latin1') })
)

/** Large and deep bodies, up to and just over the 64 KiB limit (REQUEST_BODY_LIMIT_BYTES). */
export const hugeBody: fc.Arbitrary<BodySpec> = fc.oneof(
  fc
    .integer({ min: 40_000, max: 65_400 })
    .map((n): BodySpec => ({ kind: 'text', text: JSON.stringify({ client: 'x'.repeat(n) }) })),
  fc
    .integer({ min: 65_537, max: 70_000 })
    .map((n): BodySpec => ({ kind: 'text', text: JSON.stringify({ padding: 'x'.repeat(n) }) })),
  fc
    .integer({ min: 1_000, max: 32_000 })
    .map((n): BodySpec => ({ kind: 'text', text: '['.repeat(n) + ']'.repeat(n) })),
  fc
    .integer({ min: 1_000, max: 12_000 })
    .map((n): BodySpec => ({ kind: 'text', text: `${'{"a":'.repeat(n)}1${'}'.repeat(n)}` })),
  fc.integer({ min: 100, max: 5_000 }).map((n): BodySpec => ({
    kind: 'json',
    value: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
  })),
  fc
    .integer({ min: 100, max: 20_000 })
    .map((n): BodySpec => ({ kind: 'json', value: { access_token: 'a'.repeat(n) } }))
)

/** A body for an endpoint: mostly `plausible`, sometimes anything. */
export function bodyArb(
  plausible: fc.Arbitrary<unknown>,
  noneWeight = 2,
  plausibleWeight = 10
): fc.Arbitrary<BodySpec> {
  return fc.oneof(
    w(
      plausibleWeight,
      plausible.map((value): BodySpec => ({ kind: 'json', value }))
    ),
    w(noneWeight, fc.constant(noBody)),
    w(
      2,
      fc.json({ maxDepth: 3 }).map((text): BodySpec => ({ kind: 'text', text }))
    ),
    w(
      2,
      anyJson().map((value): BodySpec => ({ kind: 'json', value }))
    ),
    w(2, nonJsonBody),
    w(1, hugeBody)
  )
}

/** A body for routes that take none: mostly none, sometimes anything. */
export const strayBody: fc.Arbitrary<BodySpec> = bodyArb(fc.constant({}), 20)

// The percent-encoding of a string as browsers and clients produce it; lone surrogates
// (which fast-check may generate and encodeURIComponent refuses) are dropped.
const encode = (s: string) => encodeURIComponent(s.replace(/\p{Cs}/gu, ''))

/** A path segment: real ids, near misses, other UUIDs, unicode, odd characters. */
export function segmentArb(real: fc.Arbitrary<Sym>, realWeight = 30): fc.Arbitrary<Sym> {
  return fc.oneof(
    w(realWeight, real),
    w(3, fc.uuid()),
    w(
      1,
      fc.uuid().map((u) => u.toUpperCase())
    ),
    w(2, fc.string({ unit: 'grapheme', maxLength: 20 }).map(encode)),
    w(1, fc.string({ unit: 'binary', maxLength: 20 }).map(encode)),
    w(1, fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,30}$/)),
    w(
      1,
      fc.constantFrom(
        '.',
        '..',
        '%2F',
        '%2e%2e',
        '%00',
        '%20',
        '*',
        ';',
        'accept',
        'reject',
        'finish',
        'null',
        '0',
        '-1',
        '%F0%9F%92%A9',
        '00000000-0000-0000-0000-000000000000',
        'ffffffff-ffff-ffff-ffff-ffffffffffff'
      )
    ),
    // Malformed percent-encoding, and parameters past Fastify's maxParamLength (100): both
    // answered by Fastify itself (known deviations), so kept rare.
    w(1, fc.constantFrom('%', '%ZZ', '%E0%A4%A', '%C3%28', 'a%2', '%%')),
    w(
      1,
      fc
        .tuple(fc.integer({ min: 90, max: 3_000 }), fc.constantFrom('a', '0', '%41', '-'))
        .map(([n, c]) => c.repeat(n))
    )
  )
}

/** A query string, mostly none. */
export const queryArb: fc.Arbitrary<string> = fc.oneof(
  w(10, fc.constant('')),
  w(1, fc.constant('?')),
  w(
    2,
    fc
      .dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 4 })
      .map((d) => `?${new URLSearchParams(d).toString()}`)
  ),
  w(
    1,
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => `?${encode(s)}`)
  ),
  w(
    1,
    fc.constantFrom(
      '?a=%ZZ',
      '?__proto__[x]=1',
      '?constructor[prototype][x]=1',
      '?a&a&a=1&a=2',
      '?%00=%00',
      `?q=${'q'.repeat(5_000)}`,
      '?interactId=x&nonce=y&clientName=%3Cscript%3E',
      '?#fragment'
    )
  )
)

/** Accept: absent or JSON mostly, sometimes what a browser or a broken client sends. */
export const acceptArb: fc.Arbitrary<string | undefined> = fc.oneof(
  w(8, fc.constant(undefined)),
  w(6, fc.constantFrom('application/json', '*/*')),
  w(
    3,
    fc.constantFrom(
      'text/html',
      'application/*',
      'application/json;q=0',
      'application/json, text/plain;q=0.5',
      'text/*',
      'application/xml',
      'image/png;q=1, */*;q=0',
      '',
      ',',
      'application/json;q=x',
      'APPLICATION/JSON',
      'application/gnap+json',
      'application/json; charset=utf-8',
      '*/*;q=0',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
    )
  ),
  w(1, fieldText())
)

/** Content-Type: JSON mostly, then near misses and other media types. */
export const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  w(24, fc.constant('application/json')),
  w(2, fc.constant(undefined)),
  w(
    4,
    fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/json;;;=',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/*',
      '*/*',
      '',
      ';',
      'text/json',
      'application/octet-stream'
    )
  ),
  w(1, fieldText())
)

/** A token-like value: base64url of 32 bytes, as opas issues them. */
const tokenLike = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64url'))

/** Authorization: `GNAP <real token>` mostly, and every way to get the scheme wrong. */
export function authorizationArb(tokens: fc.Arbitrary<Sym>): fc.Arbitrary<Sym | undefined> {
  return fc.oneof(
    w(3, fc.constant(undefined)),
    w(
      8,
      tokens.map((t) => cat('GNAP ', t))
    ),
    w(
      3,
      fc
        .tuple(
          fc.constantFrom(
            'GNAP ',
            'gnap ',
            'GNAP  ',
            'Bearer ',
            'GNAP',
            'GNAP\t',
            'Basic ',
            '',
            'GNAPx '
          ),
          fc.oneof(tokens, tokenLike, fieldText(), fc.constant(''))
        )
        .map(([scheme, t]) => cat(scheme, t))
    ),
    w(1, fieldText(300)),
    w(1, fc.constantFrom('GNAP a b', `GNAP ${'x'.repeat(5_000)}`, 'GNAP ,', 'GNAP "x"'))
  )
}

const labels = ['sig1', 'sig', 'a', 'x-1', 'SIG1', '1sig']
const componentNames = [
  '@method',
  '@target-uri',
  'authorization',
  'content-digest',
  'content-length',
  'content-type',
  '@authority',
  '@path',
  '@query',
  '@scheme',
  '@request-target',
  'host',
  'accept',
  '@status',
  'Content-Type',
  '@query-param'
]
const sfTokens = [
  'sig1',
  'sig2',
  '=',
  ':',
  '(',
  ')',
  '"',
  ';',
  ',',
  ' ',
  'keyid',
  'created',
  'alg',
  'expires',
  'tag',
  '"@method"',
  '"@target-uri"',
  '1',
  '-1',
  '?1',
  '*',
  'AAAA',
  '==',
  '"ed25519"',
  'ü'
]

/** Structured-field garbage for Signature, Signature-Input and Content-Digest. */
const sfGarbage = fc.oneof(
  fc.array(fc.constantFrom(...sfTokens), { maxLength: 20 }).map((t) => t.join('')),
  fieldText(120)
)

const base64Bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString('base64'))

/** A `created` or `expires` value: now, stale, future, or not an integer. */
const timeArb: fc.Arbitrary<Sym> = fc.oneof(
  w(6, fc.constant(new Now(0))),
  w(
    2,
    fc.integer({ min: -100_000, max: 100_000 }).map((s) => new Now(s))
  ),
  w(1, fc.constantFrom('1.5', '"1700000000"', '-1', '?1', '99999999999999999'))
)

/**
 * Well-formed signature fields that do not verify: the client's own key id or another,
 * fresh or stale `created`, components covered or not, random signature bytes.
 */
export function wellFormedSignatureArb(keyIds: readonly string[]) {
  return fc
    .record({
      label: fc.constantFrom(...labels),
      otherLabel: fc.option(fc.constantFrom(...labels), { nil: undefined }),
      components: fc.subarray(componentNames),
      keyid: fc.oneof(w(6, fc.constantFrom(...keyIds)), w(1, fc.string({ maxLength: 20 }))),
      created: fc.option(timeArb, { nil: undefined }),
      expires: fc.option(timeArb, { nil: undefined }),
      alg: fc.option(fc.constantFrom('"ed25519"', '"rsa-pss-sha512"', '1'), { nil: undefined }),
      tag: fc.option(fc.constantFrom('"gnap"', '"x"'), { nil: undefined }),
      signature: fc.oneof(w(4, base64Bytes(64, 64)), w(1, base64Bytes(0, 100)))
    })
    .map((s): Record<string, Sym> => {
      const keyid = JSON.stringify(s.keyid)
      const params: Sym[] = [`;keyid=${keyid}`]
      if (s.created !== undefined) params.push(';created=', s.created)
      if (s.expires !== undefined) params.push(';expires=', s.expires)
      if (s.alg !== undefined) params.push(`;alg=${s.alg}`)
      if (s.tag !== undefined) params.push(`;tag=${s.tag}`)
      const list = s.components.map((c) => JSON.stringify(c)).join(' ')
      return {
        'signature-input': cat(`${s.label}=(${list})`, ...params),
        signature: `${s.otherLabel ?? s.label}=:${s.signature}:`
      }
    })
}

/** Content-Digest: right for the body, wrong but well formed, or garbage. */
export const contentDigestArb: fc.Arbitrary<Sym> = fc.oneof(
  w(4, fc.constantFrom(new BodyDigest('sha-512'), new BodyDigest('sha-256'))),
  w(
    2,
    base64Bytes(64, 64).map((b) => `sha-512=:${b}:`)
  ),
  w(
    2,
    base64Bytes(32, 32).map((b) => `sha-256=:${b}:`)
  ),
  w(
    1,
    base64Bytes(16, 16).map((b) => `md5=:${b}:`)
  ),
  w(1, fc.constantFrom('sha-256=1', 'sha-256=:', 'sha-512=:AAAA:, sha-256=?1', 'sha-256')),
  w(1, sfGarbage)
)

/** Signature, Signature-Input and Content-Digest: absent, garbage, or well formed but wrong. */
export function signatureFieldsArb(keyIds: readonly string[]) {
  return fc.oneof(
    w(3, fc.constant<Record<string, Sym>>({})),
    w(
      2,
      fc
        .record(
          { signature: sfGarbage, 'signature-input': sfGarbage, 'content-digest': sfGarbage },
          { requiredKeys: [] }
        )
        .map((r): Record<string, Sym> => ({ ...r }))
    ),
    w(
      5,
      fc
        .tuple(wellFormedSignatureArb(keyIds), fc.option(contentDigestArb, { nil: undefined }))
        .map(([sig, digest]) => (digest === undefined ? sig : { ...sig, 'content-digest': digest }))
    )
  )
}

const headerName = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
  .filter(
    (n) => !['content-length', 'transfer-encoding', 'host', 'connection', 'expect'].includes(n)
  )

/** Headers any client might add: CORS, proxies, anything. */
export const miscHeadersArb: fc.Arbitrary<Record<string, Sym>> = fc
  .record(
    {
      origin: fc.constantFrom('http://evil.example', 'null', 'https://wallet.example'),
      'x-forwarded-for': fc.constantFrom('10.0.0.1', '::1, 1.2.3.4', 'garbage'),
      'x-forwarded-proto': fc.constantFrom('https', 'gopher'),
      'x-forwarded-host': fc.constantFrom('evil.example', ''),
      'user-agent': fieldText(40),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
      cookie: fc.oneof(fieldText(60), fc.constant('opas_interaction=s%3Ax.y; a=b')),
      extra: fc.tuple(headerName, fieldText(80))
    },
    { requiredKeys: [] }
  )
  .map(({ extra, ...rest }) => {
    const headers: Record<string, Sym> = { ...rest }
    if (extra) headers[extra[0]] = extra[1]
    return headers
  })

/** A Cookie header: the real session cookie of a fixture, a forged one, or junk. */
export function cookieArb(cookies: fc.Arbitrary<Sym>, ids: fc.Arbitrary<Sym>) {
  return fc.oneof(
    w(3, fc.constant(undefined)),
    w(5, cookies),
    w(
      2,
      fc.tuple(cookies, fieldText(20)).map(([c, s]): Sym => cat(c, '; ', s))
    ),
    w(
      2,
      fc
        .tuple(
          fc.constantFrom('opas_interaction=', 'opas_interaction=s:', 'opas_interaction=s%3A'),
          fc.oneof(ids, fieldText(60))
        )
        .map(([prefix, v]): Sym => cat(prefix, v))
    ),
    w(1, fieldText(200))
  )
}

/** An x-idp-secret: the real one mostly, then near misses and junk. */
export function idpSecretArb(secret: string): fc.Arbitrary<Sym | undefined> {
  return fc.oneof(
    w(8, fc.constant(secret)),
    w(2, fc.constant(undefined)),
    w(
      2,
      fc.constantFrom(...mutations).map((m) => mutate(secret, m))
    ),
    w(1, fieldText(80)),
    w(1, fc.constantFrom('', 'x'.repeat(10_000), `${secret},${secret}`, ` ${secret}`))
  )
}

/** Every method Node's HTTP parser accepts, for the unknown-route and unusual-method fuzz. */
export const anyMethod = fc.oneof(
  w(2, fc.constantFrom('GET', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PUT', 'PATCH')),
  w(1, fc.constantFrom(...METHODS))
)

/** GET mostly, HEAD sometimes (Fastify answers HEAD on every GET route). */
export const getOrHead = fc.oneof(w(5, fc.constant('GET')), w(1, fc.constant('HEAD')))

// --- Plausible bodies -------------------------------------------------------------------------

export interface BodyContext {
  /** The fixtures' client. */
  walletAddress: string
  /**
   * The wallet addresses of the world's other clients, which no grant body names: a grant
   * request signed by one of them is never signed by the client it names.
   */
  otherWalletAddresses: readonly string[]
  /** Its public JWK (directed identity). */
  jwk: Record<string, string>
  /** Origin of the local wallet-address server. */
  walletsUrl: string
}

const incomingActions = ['create', 'complete', 'read', 'read-all', 'list', 'list-all']
const outgoingActions = ['create', 'read', 'read-all', 'list', 'list-all']
const quoteActions = ['create', 'read', 'read-all']

/** An Open Payments access item: valid, with at most a field or two wrong. */
export function accessItemArb(ctx: BodyContext): fc.Arbitrary<unknown> {
  const account = mut(
    fc.oneof(
      fc.constant(`${ctx.walletsUrl}/alice`),
      fc.stringMatching(/^[a-z0-9-]{1,12}$/).map((n) => `${ctx.walletsUrl}/${n}`)
    ),
    fc.oneof(
      fc.constantFrom('not a uri', '', 'urn:x', `${ctx.walletsUrl}/${'a'.repeat(3_000)}`),
      anyJson(1)
    )
  )
  const amount = fc.record({
    value: mut(
      fc.oneof(fc.stringMatching(/^[0-9]{1,19}$/), fc.constant('18446744073709551615')),
      fc.oneof(
        fc.constantFrom('18446744073709551616', '99999999999999999999', '-1', '1.5', '', '０'),
        anyJson(1)
      )
    ),
    assetCode: mut(
      fc.constantFrom('USD', 'EUR', 'XRP'),
      fc.oneof(fc.string({ maxLength: 70 }), fc.constant('US\u0000'))
    ),
    assetScale: mut(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(-1, 256, 2.5, '2', null, 1e300)
    )
  })
  const interval = mut(
    fc.constantFrom(
      'R/2024-01-01T00:00:00Z/P1M',
      'R12/2024-01-01T00:00:00Z/P1D',
      'R/2024-01-01T00:00:00.123Z/P1Y2M3DT4H5M6S',
      'R/P1M/2024-01-01T00:00:00Z'
    ),
    fc.oneof(
      fc.constantFrom(
        'R/2024-01-01T00:00:00Z/2024-02-01T00:00:00Z',
        'R-1/2024-01-01T00:00:00Z/P1M',
        'R/2024-13-45T99:99:99Z/P1M',
        'R/x/y',
        'P1M',
        '',
        'R//',
        'R/2024-01-01T00:00:00Z/PT0S',
        'R/2024-01-01/P1M',
        'R/+002024-01-01T00:00:00Z/P1M',
        'R99999999999999999999/2024-01-01T00:00:00Z/P1M',
        'R/2024-01-01T00:00:00Z/P99999999999Y',
        'R/2024-02-30T00:00:00Z/P1M'
      ),
      fc.string({ maxLength: 140 })
    )
  )
  // One amount at a time; both together is a mutation (only one is allowed).
  const amounts = mut(
    fc.oneof(
      fc.constant({}),
      amount.map((debitAmount) => ({ debitAmount })),
      amount.map((receiveAmount) => ({ receiveAmount }))
    ),
    fc.tuple(amount, amount).map(([debitAmount, receiveAmount]) => ({ debitAmount, receiveAmount }))
  )
  const limits = fc
    .tuple(
      fc.record(
        {
          receiver: mut(
            fc.constant('https://wallet.example/incoming-payments/1'),
            fc.constantFrom('https://wallet.example/x', 'not a uri', '')
          ),
          interval
        },
        { requiredKeys: [] }
      ),
      amounts
    )
    .map(([l, a]) => ({ ...l, ...a }))
  const actions = (all: string[]) =>
    mut(
      fc.subarray(all, { minLength: 1 }),
      fc.oneof(
        fc.array(fc.constantFrom(...all, 'x', 'READ', ''), { maxLength: 8 }),
        fc.constant([]),
        anyJson(1)
      )
    )
  const item = fc.oneof(
    fc.record(
      {
        type: fc.constant('incoming-payment'),
        actions: actions(incomingActions),
        identifier: account
      },
      { requiredKeys: ['type', 'actions'] }
    ),
    fc.record(
      {
        type: fc.constant('outgoing-payment'),
        actions: actions(outgoingActions),
        identifier: account,
        limits: mut(limits, anyJson(2), 6)
      },
      { requiredKeys: ['type', 'actions', 'identifier'] }
    ),
    fc.record(
      { type: fc.constant('quote'), actions: actions(quoteActions), identifier: account },
      { requiredKeys: ['type', 'actions'] }
    )
  )
  return mut(
    item,
    fc.oneof(
      fc
        .tuple(item, fc.string({ maxLength: 10 }), anyJson(1))
        .map(([i, k, v]) => ({ ...(i as object), [k]: v })),
      item.map((i) => ({ ...(i as object), type: 'Incoming-Payment' })),
      fc.constantFrom(null, 'incoming-payment', [], {}),
      anyJson(2)
    )
  )
}

/**
 * A client's `client` field: its wallet address in all three spellings, or near misses (never
 * another registered client's wallet address).
 */
export function grantClientArb(ctx: BodyContext): fc.Arbitrary<unknown> {
  const { walletAddress } = ctx
  return fc.oneof(
    w(8, fc.constant(walletAddress)),
    w(2, fc.constant({ walletAddress })),
    w(3, fc.constant({ jwk: ctx.jwk })),
    w(
      1,
      fc.oneof(
        fc.constantFrom(...Object.keys(ctx.jwk)).map((k) => ({
          jwk: Object.fromEntries(Object.entries(ctx.jwk).filter(([n]) => n !== k))
        })),
        fc
          .tuple(fc.constantFrom(...Object.keys(ctx.jwk), 'd', 'extra'), fieldText(50))
          .map(([k, v]) => ({ jwk: { ...ctx.jwk, [k]: v } })),
        fc.constant({ jwk: ctx.jwk, walletAddress })
      )
    ),
    w(
      1,
      fc.oneof(
        fc
          .stringMatching(/^[a-z0-9-]{1,12}$/)
          .map((n) => `${ctx.walletsUrl}/${n}`)
          .filter((url) => !ctx.otherWalletAddresses.includes(url)),
        fc.constantFrom(
          `${walletAddress}/`,
          `${walletAddress}?x=1`,
          `${walletAddress}#f`,
          walletAddress.toUpperCase(),
          'http://127.0.0.1:9/nobody',
          `http://127.0.0.1:9/${'a'.repeat(3_000)}`,
          'urn:x',
          'mailto:a@b',
          'javascript:1',
          'not a url',
          '',
          'http://'
        )
      )
    ),
    // Wrong types; a string here is never an http(s) URL, so nothing is fetched.
    w(
      1,
      anyJson(2).filter((v) => typeof v !== 'string' || !/^\s*https?:/i.test(v))
    )
  )
}

/** A grant request (RFC 9635 §2, Open Payments): valid, with a field or two wrong. */
export function grantBodyArb(ctx: BodyContext): fc.Arbitrary<unknown> {
  const finishUri = mut(
    fc.constantFrom(
      'http://127.0.0.1:9/return?session=1',
      'https://client.example/cb',
      'myapp://cb'
    ),
    fc.oneof(
      fc.constantFrom(
        'javascript:alert(1)',
        'JAVASCRIPT:alert(1)',
        'data:text/html,x',
        'vbscript:x',
        'file:///etc/passwd',
        'blob:http://x/y',
        'about:blank',
        '//no-scheme',
        'http://[::1]/',
        `http://127.0.0.1:9/${'a'.repeat(5_000)}`,
        ''
      ),
      fc.webUrl()
    )
  )
  const interact = fc.record(
    {
      start: mut(
        fc.constant(['redirect']),
        fc.constantFrom([], ['redirect', 'redirect'], ['user_code'], 'redirect', null)
      ),
      finish: mut(
        fc.record({
          method: mut(fc.constant('redirect'), fc.constantFrom('push', '', 'REDIRECT')),
          uri: finishUri,
          nonce: mut(
            fc.string({ minLength: 1, maxLength: 40 }),
            fc.constantFrom('', 'x'.repeat(300), 'a\u0000b')
          )
        }),
        anyJson(1)
      )
    },
    { requiredKeys: ['start'] }
  )
  const subject = fc.record({
    sub_ids: mut(
      fc.tuple(
        fc.record({
          id: mut(
            fc.constantFrom(`${ctx.walletsUrl}/alice`, 'https://wallet.example/bob'),
            fc.oneof(
              fc.constantFrom('ftp://x', 'not a url', '', 'http://', 'https://x.test/\u0000'),
              fc.string()
            )
          ),
          format: mut(fc.constant('uri'), fc.constantFrom('email', 'URI', ''))
        })
      ),
      fc.oneof(fc.constant([]), anyJson(2))
    )
  })
  return fc
    .tuple(
      fc.record(
        {
          client: grantClientArb(ctx),
          access_token: mut(
            fc.record({ access: fc.array(accessItemArb(ctx), { minLength: 1, maxLength: 3 }) }),
            fc.oneof(
              fc.constantFrom({ access: [] }, {}, null),
              fc.record({ access: fc.array(accessItemArb(ctx), { minLength: 4, maxLength: 5 }) }),
              anyJson(2)
            )
          ),
          interact: mut(interact, anyJson(2), 9),
          subject: mut(subject, anyJson(2))
        },
        { requiredKeys: ['client'] }
      ),
      // Unknown top-level fields are ignored (RFC 9635 §2 extensions).
      fc.option(fc.dictionary(fc.string({ maxLength: 10 }), anyJson(1), { maxKeys: 2 }), {
        nil: undefined
      })
    )
    .map(([body, extra]) => (extra ? { ...extra, ...body } : body))
}

/** A continuation request (RFC 9635 §5): a poll, the interact_ref, or something else. */
export function continueBodyArb(interactRefs: fc.Arbitrary<Sym>): fc.Arbitrary<BodySpec> {
  return fc.oneof(
    w(4, fc.constant(noBody)),
    w(2, fc.constant<BodySpec>({ kind: 'json', value: {} })),
    w(
      6,
      interactRefs.map((r): BodySpec => ({ kind: 'json', value: { interact_ref: r } }))
    ),
    w(
      2,
      fc
        .oneof(
          fc.uuid(),
          fc.string({ maxLength: 40 }),
          anyJson(1),
          fc.constantFrom('r'.repeat(300), 'a\u0000')
        )
        .map((r): BodySpec => ({ kind: 'json', value: { interact_ref: r } }))
    ),
    w(1, fc.constant<BodySpec>({ kind: 'json', value: null })),
    w(
      1,
      fc
        .tuple(interactRefs, fc.string({ maxLength: 10 }), anyJson(1))
        .map(([r, k, v]): BodySpec => ({ kind: 'json', value: { [k]: v, interact_ref: r } }))
    ),
    w(
      1,
      anyJson(2).map((value): BodySpec => ({ kind: 'json', value }))
    ),
    w(1, nonJsonBody),
    w(1, hugeBody)
  )
}

/** An introspection request: a real token mostly, with or without the access it should allow. */
export function introspectionBodyArb(
  ctx: BodyContext,
  tokens: fc.Arbitrary<Sym>
): fc.Arbitrary<unknown> {
  return fc.record(
    {
      access_token: mut(
        fc.oneof(w(4, tokens), w(1, tokenLike)),
        fc.oneof(fc.constantFrom('', 'a'.repeat(1_025)), anyJson(1)),
        6
      ),
      access: mut(fc.array(accessItemArb(ctx), { maxLength: 4 }), anyJson(2))
    },
    { requiredKeys: ['access_token'] }
  )
}

/** The consent form as a browser posts it: mostly real fields, then near misses and junk. */
export function consentFormArb(csrfs: fc.Arbitrary<Sym>): fc.Arbitrary<BodySpec> {
  const choice = fc.oneof(
    w(6, fc.constantFrom('accept', 'decline')),
    w(1, fc.constantFrom('reject', 'ACCEPT', 'accept ', '', 'yes')),
    w(1, fieldText(20))
  )
  const csrf = fc.oneof(w(6, csrfs), w(1, fieldText(60)))
  const form = fc
    .record({ csrf, choice, extra: fieldText(20) }, { requiredKeys: [] })
    .map((fields): BodySpec => ({ kind: 'form', fields }))
  return fc.oneof(
    w(10, form),
    w(1, fc.constant(noBody)),
    w(
      1,
      fieldText(200).map((text): BodySpec => ({ kind: 'text', text }))
    ),
    w(1, nonJsonBody),
    w(1, hugeBody)
  )
}

/** A browser's Content-Type for a form post, mostly; sometimes what a broken client sends. */
export const formContentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  w(10, fc.constant('application/x-www-form-urlencoded')),
  w(2, contentTypeArb)
)

/** Accept as a browser sends it (a page), or as any other caller (a GNAP error). */
export const browserAcceptArb: fc.Arbitrary<string | undefined> = fc.oneof(
  w(3, fc.constant('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')),
  w(2, acceptArb)
)

const grantStates = ['PROCESSING', 'PENDING', 'APPROVED', 'FINALIZED'] as const
const reasons = ['ISSUED', 'REVOKED', 'REJECTED'] as const

/**
 * Bodies of the admin GraphQL API: the admin tools' queries with generated variables (fixture
 * grant ids, near misses, junk, out-of-range paging), then generated query text.
 */
export function graphqlBodyArb(grantIds: fc.Arbitrary<Sym>): fc.Arbitrary<unknown> {
  const id = fc.oneof(w(4, grantIds), w(1, fc.uuid()), w(1, fieldText(40)), w(1, fc.constant('')))
  const list = <T>(values: readonly T[]) =>
    fc.oneof(w(4, fc.subarray([...values])), w(1, fc.array(fieldText(12), { maxLength: 3 })))
  const filter = fc.record(
    {
      identifier: fc.record({
        in: fc.array(fc.oneof(fieldText(30), fc.webUrl()), { maxLength: 3 })
      }),
      state: fc.record({ in: list(grantStates), notIn: list(grantStates) }, { requiredKeys: [] }),
      finalizationReason: fc.record(
        { in: list(reasons), notIn: list(reasons) },
        { requiredKeys: [] }
      )
    },
    { requiredKeys: [] }
  )
  const size = fc.oneof(
    w(4, fc.integer({ min: 0, max: 100 })),
    w(1, fc.integer()),
    w(1, anyJson(1))
  )
  const grantsVariables = fc.record(
    {
      first: size,
      last: size,
      after: id,
      before: id,
      filter: mut(filter, anyJson(2), 6),
      sortOrder: fc.constantFrom('ASC', 'DESC', 'asc', 'SIDEWAYS'),
      tenantId: fc.oneof(fc.uuid(), fieldText(20))
    },
    { requiredKeys: [] }
  )
  const grantsQuery = `query Grants($after: String, $before: String, $first: Int, $last: Int,
      $filter: GrantFilter, $sortOrder: SortOrder, $tenantId: ID) {
    grants(after: $after, before: $before, first: $first, last: $last, filter: $filter,
        sortOrder: $sortOrder, tenantId: $tenantId) {
      pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
      edges { cursor node { id client state finalizationReason createdAt tenantId
        access { id identifier type actions createdAt
          limits { receiver interval debitAmount { value assetCode assetScale } } }
        subject { sub_ids { id subId subIdFormat createdAt } } } }
    }
  }`
  const known = fc.oneof(
    fc.record({ query: fc.constant(grantsQuery), variables: mut(grantsVariables, anyJson(2), 8) }),
    fc.record({
      query: fc.constant(
        'query Grant($id: ID!) { grant(id: $id) { id state finalizationReason } }'
      ),
      variables: fc.record({ id: mut(id, anyJson(1), 8) })
    }),
    fc.record({
      query: fc.constant(
        'mutation Revoke($input: RevokeGrantInput!) { revokeGrant(input: $input) { id } }'
      ),
      variables: fc.record({ input: mut(fc.record({ grantId: id }), anyJson(1), 8) })
    })
  )
  const text = fc.oneof(
    fc.constantFrom(
      '{ grants { edges { cursor } } }',
      '{ __schema { types { name } } }',
      '{',
      'mutation { }'
    ),
    fieldText(80)
  )
  return fc.oneof(
    w(8, known),
    w(
      2,
      fc.record({
        query: text,
        variables: fc.option(anyJson(1)),
        operationName: fc.option(fieldText(10))
      })
    )
  )
}
