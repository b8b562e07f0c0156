import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import type fc from 'fast-check'
import type { ListenerName } from '../../../src/app.js'
import { serviceApiErrorCodes } from '../../../src/http/service-api-routes.js'
import { gnapErrorCodes } from '../../../src/gnap/gnap-error.js'
import { startServerWithClient, type ServerWithClient } from '../../helpers/server-with-client.js'
import type { TestServer } from '../../helpers/test-server.js'
import type { TestClient } from '../../helpers/wallet-address-server.js'
import { signRequest, type InjectRequest, type SignedSpec, type Signer } from './signing.js'
import {
  BodyDigest,
  Cat,
  Now,
  Ref,
  fixtureNames,
  mutate,
  type BodySpec,
  type Fixture,
  type FixtureName,
  type RequestSpec,
  type Sym
} from './symbols.js'

/**
 * The world every fuzz file runs in: opas on its test database with a local wallet-address
 * server, live fixtures (pending, approved, issued... grants) for generated requests to aim at,
 * and `exchange()`, which sends one request in-process and checks the suite's properties:
 * no 5xx, every refusal a GNAP error object, no refusal changes the database, and a request
 * the caller says carried no valid credential (signature, x-idp-secret) is refused, so only
 * requests with one can change the database.
 *
 * Environment: FUZZ_RUNS (cases per endpoint, default below), FUZZ_SEED and FUZZ_PATH (replay
 * a failure), FUZZ_STRICT=1 (known deviations fail too), FUZZ_VERBOSE=1 (refusal reasons per
 * endpoint). The full run takes minutes, past the runner's 120 s per file:
 *   FUZZ_RUNS=10000 node scripts/run-tests.mjs --test-timeout=7200000 test/fuzz
 */

const DEFAULT_RUNS = 100

/** Generated requests per endpoint: FUZZ_RUNS, or a default that keeps `npm test` quick. */
export const fuzzRuns = (() => {
  const raw = process.env.FUZZ_RUNS
  if (raw === undefined || raw === '') return DEFAULT_RUNS
  const runs = Number(raw)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be ≥ 1, got ${raw}`)
  return runs
})()

/**
 * fast-check's parameters. A failure prints its seed and path; to replay it, run the one test
 * (`--test-name-pattern`) with FUZZ_SEED and FUZZ_PATH set to them.
 */
export function fuzzParameters<T>(): fc.Parameters<T> {
  const { FUZZ_SEED: seed, FUZZ_PATH: path } = process.env
  return {
    numRuns: fuzzRuns,
    // The failed assertion (status, request, answer) rather than just "property failed".
    includeErrorInReport: true,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {})
  }
}

/** FUZZ_STRICT=1 excuses none of the known deviations below. */
const strict = process.env.FUZZ_STRICT === '1'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  text: string
}

/**
 * Behaviour the suite knows to be wrong, until opas is fixed (with a failing `todo` test that
 * asserts the right behaviour). A matching answer is excused from "no 5xx" and the envelope,
 * never from "no state change".
 */
export const knownDeviations: readonly {
  name: string
  matches: (req: InjectRequest, a: Answer) => boolean
}[] = [
  // None known. The first full run found four (U+0000 reaching PostgreSQL as a 500, Fastify's
  // own bodies for a malformed percent-encoding and an over-long path segment, and the CORS
  // plugin's plain-text 400 for a bare OPTIONS); all are fixed and kept as regressions.
]

/** The tables whose content a refused request must leave alone (replay records may change). */
const STATE_TABLES = [
  'tenants',
  'grants',
  'accesses',
  'subjects',
  'access_tokens',
  'interactions'
] as const
// One statement, so the snapshot's xmax and the tables' content are of the same moment.
const STATE_SQL = [
  `select 'xmax' as name, 0 as rows, split_part(pg_current_snapshot()::text, ':', 2) as sum`,
  ...STATE_TABLES.map(
    (t) =>
      `select '${t}' as name, count(*)::int as rows,
         md5(coalesce(string_agg(x::text, ',' order by x.id), '')) as sum from ${t} x`
  )
].join(' union all ')
const XMAX_SQL = `select split_part(pg_current_snapshot()::text, ':', 2) as xmax`

/**
 * The database's state: row count and content checksum of every table in STATE_TABLES, and the
 * next transaction id (xmax) when it was taken. A change of content needs a writing
 * transaction, which takes a new id: while xmax stays put, nothing can have changed, and the
 * (costlier) checksums need not be taken again. On a PostgreSQL server other databases move
 * xmax too; then the checksums decide.
 */
interface DbState {
  xmax: string
  tables: Record<string, string>
}

/** Past this many grants the rows of consumed fixtures and successful grants are dropped. */
const PRUNE_AT = 150

const FINISH_URI = 'http://127.0.0.1:9/return?session=1'

/** What the caller of `exchange()` knows about a request beyond its bytes. */
export interface ExchangeOptions {
  /**
   * Why the request as sent carries no valid credential (signature, x-idp-secret) for what it
   * aims at, or undefined when it may carry one. A request without one must be refused, and so,
   * by "no refusal changes the database", leave the state alone. Called once the request is
   * built (after a request function has run).
   */
  uncredentialed?: (sent: InjectRequest) => string | undefined
}

export interface TargetStats {
  requests: number
  refused: number
  /** Requests sent without a valid credential (each had to be refused). */
  uncredentialed: number
  statuses: Map<number, number>
  deviations: Map<string, number>
  /** Refusals by status, code and description (FUZZ_VERBOSE=1 reports them). */
  reasons: Map<string, number>
}

const clip = (value: unknown, n = 300) => {
  const s = String(value)
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s
}

function describeExchange(listener: ListenerName, req: InjectRequest, answer?: Answer): string {
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `  ${k}: ${clip(JSON.stringify(v), 200)}`)
    .join('\n')
  const body =
    req.payload === undefined
      ? ''
      : `  body: ${clip(JSON.stringify(req.payload.toString('latin1')))}\n`
  const res = answer
    ? `→ ${answer.status} ${clip(JSON.stringify(answer.headers['content-type']))} ${clip(answer.text)}`
    : ''
  return `${listener} ${req.method} ${clip(req.url, 400)}\n${headers}\n${body}${res}`
}

/**
 * The properties every refusal must have: a JSON content type and exactly the GNAP envelope,
 * with a GNAP code (the service API, which is not GNAP, with one of its own).
 */
function assertErrorEnvelope(
  method: string,
  answer: Answer,
  where: string,
  codes: readonly string[] = gnapErrorCodes
): void {
  assert.match(String(answer.headers['content-type'] ?? ''), /^application\/json\b/, where)
  // A HEAD answer has headers only.
  if (method === 'HEAD') {
    assert.equal(answer.text, '', where)
    return
  }
  let body: unknown
  try {
    body = JSON.parse(answer.text)
  } catch {
    assert.fail(`the body is not JSON:\n${where}`)
  }
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), where)
  assert.deepEqual(Object.keys(body), ['error'], where)
  const error = (body as { error: unknown }).error
  assert.ok(typeof error === 'object' && error !== null && !Array.isArray(error), where)
  assert.deepEqual(Object.keys(error).sort(), ['code', 'description'], where)
  const { code, description } = error as { code: unknown; description: unknown }
  assert.equal(typeof code, 'string', where)
  assert.ok((codes as readonly unknown[]).includes(code), `unregistered code: ${where}`)
  assert.equal(typeof description, 'string', where)
}

/**
 * The built-in consent screen answers a browser (a request accepting text/html) with a page
 * instead of the GNAP error object; every other caller gets the object.
 */
function isBrowserPage(req: InjectRequest, answer: Answer): boolean {
  return (
    String(answer.headers['content-type'] ?? '').startsWith('text/html') &&
    // The links a browser opens: the start, the finish and the consent screen.
    /^\/interact\/[^/?]*\/[^/?]*(\/consent|\/finish)?\/?(\?|$)/.test(req.url) &&
    (req.headers.accept ?? '').includes('text/html')
  )
}

/**
 * The operator console's pages (the admin listener's only HTML): a refusal on a console route is
 * a page for anyone, and an unknown address opened by a browser a page too.
 */
const isConsolePage = (listener: ListenerName, answer: Answer) =>
  listener === 'admin' && String(answer.headers['content-type'] ?? '').startsWith('text/html')

/** A console refusal: a whole page saying what happened, never a stack trace. */
function assertConsolePage(method: string, answer: Answer, where: string): void {
  assert.match(String(answer.headers['content-type']), /^text\/html; charset=utf-8$/, where)
  assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/, where)
  if (method === 'HEAD') return assert.equal(answer.text, '', where)
  assert.match(answer.text, /^<!doctype html>/, where)
  assert.doesNotMatch(answer.text, /\bat \S+\.(ts|js):\d+|stack|Error:/, where)
}

/** The admin GraphQL API answers in GraphQL's own error shape. */
const isGraphqlAnswer = (listener: ListenerName, req: InjectRequest) =>
  listener === 'admin' && /^\/graphql\/?(\?|$)/.test(req.url)

/** A GraphQL refusal: JSON `{"errors":[{"message", "extensions":{"code"}}]}`, nothing else. */
function assertGraphqlErrors(method: string, answer: Answer, where: string): void {
  assert.match(String(answer.headers['content-type'] ?? ''), /^application\/json\b/, where)
  if (method === 'HEAD') return assert.equal(answer.text, '', where)
  const body = JSON.parse(answer.text) as {
    errors?: { message?: unknown; extensions?: { code?: unknown } }[]
  }
  assert.deepEqual(Object.keys(body), ['errors'], where)
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, where)
  for (const error of body.errors) {
    assert.equal(typeof error.message, 'string', where)
    assert.equal(typeof error.extensions?.code, 'string', where)
  }
}

/** A refusal page: a whole HTML document, no stack trace, no form to act on. */
function assertNoticePage(method: string, answer: Answer, where: string): void {
  assert.match(String(answer.headers['content-type']), /^text\/html; charset=utf-8$/, where)
  if (method === 'HEAD') return assert.equal(answer.text, '', where)
  assert.match(answer.text, /^<!doctype html>/, where)
  assert.doesNotMatch(answer.text, /<form|\bat \S+\.(ts|js):\d+/, where)
}

export interface FuzzWorld {
  server: TestServer
  /** The client every fixture belongs to; its wallet address names the operator tenant. */
  client: TestClient
  /** Another registered client (its key is not the first client's). */
  other: TestClient
  /** A key no wallet address publishes, named with the client's kid (a forged signature). */
  stranger: Signer
  walletsUrl: string
  fixtures: Record<FixtureName, Fixture>
  /** The value a symbol stands for now; `body` is what a BodyDigest digests. */
  resolve(sym: Sym, body?: Buffer): string
  /** Serialises a body spec (symbols resolved). */
  bodyBytes(body: BodySpec): Buffer | undefined
  toInject(spec: RequestSpec): InjectRequest
  /** Signed by `spec.signer` for the auth listener's public URL. */
  sign(spec: SignedSpec): InjectRequest
  /**
   * Sends one request and checks the properties; `touches` names the fixtures it aims at, which
   * are rebuilt before the next request if it succeeded and changed the database. A function is
   * called once the fixtures are rebuilt, so that its symbols name live rows. With
   * `options.uncredentialed`, a request it finds without a valid credential must be refused.
   */
  exchange(
    target: string,
    listener: ListenerName,
    request: InjectRequest | (() => InjectRequest),
    touches: ReadonlySet<FixtureName>,
    options?: ExchangeOptions
  ): Promise<Answer & { sent: InjectRequest }>
  stats: Map<string, TargetStats>
  /** Row counts and checksums of the state tables now (what `exchange` compares). */
  state(): Promise<Readonly<Record<string, string>>>
  /** What a target sent: requests, refusals by status, known deviations (and reasons). */
  report(target: string): string[]
  close(): Promise<void>
}

/** Shorter strings are not searched for in the logs: they occur in any text by chance. */
const MIN_SECRET_LENGTH = 12

/**
 * What a request carries, or its answer hands out, that must never be logged: credentials
 * (Authorization, x-idp-secret, cookies), signature values, tokens in a body (introspection)
 * and in an answer, the finish redirect's hash and interact_ref.
 */
function secretsOf(req: InjectRequest, answer: Answer): string[] {
  const found: string[] = []
  const header = (name: string) => {
    const v = req.headers[name]
    return typeof v === 'string' ? v : undefined
  }
  const authorization = header('authorization')
  if (authorization) found.push(authorization.replace(/^\S+\s+/, ''))
  for (const name of ['x-idp-secret', 'signature']) {
    const v = header(name)
    if (v) found.push(v)
  }
  // Byte sequences (`:base64:`) of the Signature field.
  for (const m of (header('signature') ?? '').matchAll(/:([^:]+):/g)) found.push(m[1]!)
  for (const pair of (header('cookie') ?? '').split(';')) found.push(pair.split('=')[1] ?? '')
  const body = req.payload?.toString('utf8') ?? ''
  for (const m of body.matchAll(/"access_token"\s*:\s*"([^"]+)"/g)) found.push(m[1]!)
  // A tenant's secrets, given to the service API.
  for (const m of body.matchAll(/"(?:apiSecret|idpSecret)"\s*:\s*"([^"]+)"/g)) found.push(m[1]!)
  // The same in a console form (urlencoded), and the form's token.
  if (/^[\w%.*+=&~-]*$/.test(body)) {
    const form = new URLSearchParams(body)
    for (const name of ['apiSecret', 'idpSecret', 'csrf']) found.push(form.get(name) ?? '')
  }
  for (const m of answer.text.matchAll(/"value"\s*:\s*"([^"]+)"/g)) found.push(m[1]!)
  const location = answer.headers.location
  if (typeof location === 'string' && URL.canParse(location)) {
    const params = new URL(location).searchParams
    for (const name of ['hash', 'interact_ref']) found.push(params.get(name) ?? '')
  }
  return found.filter((v) => v.trim().length >= MIN_SECRET_LENGTH)
}

export async function startFuzzWorld(env: Record<string, string> = {}): Promise<FuzzWorld> {
  // Every log line, at the most verbose level: no request, however malformed, may put a
  // credential in them (each exchange checks the lines written since the last).
  const logLines: string[] = []
  const world: ServerWithClient = await startServerWithClient(
    {
      // Nothing but the fuzzed requests may write: the fingerprint compares whole tables.
      DATABASE_CLEANUP_WORKERS: '0',
      // Fixtures must not expire during a long run (FUZZ_RUNS=10000 takes minutes).
      INTERACTION_EXPIRY_SECONDS: '86400',
      ACCESS_TOKEN_EXPIRY_SECONDS: '86400',
      LOG_LEVEL: 'trace',
      ...env
    },
    { logStream: { write: (line) => void logLines.push(line) } }
  )
  const { server, wallets, app: client } = world
  const other = wallets.addClient('other', { authServer: server.grantUrl })
  const stranger: Signer = {
    keyId: client.keyId,
    privateKey: generateKeyPairSync('ed25519').privateKey
  }
  const { apps } = server
  const db = server.services.db
  const staticSecrets = [
    server.idpSecret,
    server.env.COOKIE_KEY ?? '',
    server.env.ADMIN_API_SECRET ?? '',
    server.env.TENANT_SECRETS_KEY ?? '',
    server.env.SERVICE_API_SECRET ?? ''
  ].filter((v) => v.length >= MIN_SECRET_LENGTH)
  const publicUrl = server.services.config.authServerUrl

  const fixtures = {} as Record<FixtureName, Fixture>
  const stale = new Set<FixtureName>(fixtureNames)
  const stats = new Map<string, TargetStats>()
  let last: DbState | undefined

  function resolve(sym: Sym, body?: Buffer): string {
    if (typeof sym === 'string') return sym
    if (sym instanceof Ref) return mutate(fixtures[sym.fixture][sym.field], sym.mutation)
    if (sym instanceof Now) return String(Math.floor(Date.now() / 1000) + sym.offset)
    if (sym instanceof BodyDigest) {
      const digest = createHash(sym.algorithm.replace('-', '')).update(body ?? Buffer.alloc(0))
      return `${sym.algorithm}=:${digest.digest('base64')}:`
    }
    return sym.parts.map((p) => resolve(p, body)).join('')
  }

  function resolveJson(value: unknown): unknown {
    if (value instanceof Ref || value instanceof Now || value instanceof Cat) return resolve(value)
    if (Array.isArray(value)) return value.map(resolveJson)
    if (typeof value === 'object' && value !== null) {
      // Own enumerable keys only, `__proto__` included, as JSON.stringify would write them.
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) {
        Object.defineProperty(out, k, { value: resolveJson(v), enumerable: true, writable: true })
      }
      return out
    }
    return value
  }

  function bodyBytes(body: BodySpec): Buffer | undefined {
    switch (body.kind) {
      case 'none':
        return undefined
      case 'json':
        return Buffer.from(JSON.stringify(resolveJson(body.value)) ?? 'null')
      case 'text':
        return Buffer.from(body.text)
      case 'bytes':
        return Buffer.from(body.bytes)
      case 'form':
        return Buffer.from(
          new URLSearchParams(
            Object.entries(body.fields).map(([k, v]): [string, string] => [k, resolve(v)])
          ).toString()
        )
    }
  }

  function toInject(spec: RequestSpec): InjectRequest {
    const payload = bodyBytes(spec.body)
    const headers: Record<string, string> = {}
    for (const [name, sym] of Object.entries(spec.headers)) {
      // HTTP strips a field value's surrounding whitespace; inject() would not.
      if (sym !== undefined) headers[name] = resolve(sym, payload).replace(/^[ \t]+|[ \t]+$/g, '')
    }
    return {
      method: spec.method,
      url: resolve(spec.url),
      headers,
      ...(payload !== undefined ? { payload } : {})
    }
  }

  const sign = (spec: SignedSpec) => signRequest(publicUrl, spec)

  async function readState(): Promise<DbState> {
    const { rows } = await db.query<{ name: string; rows: number; sum: string }>(STATE_SQL)
    const tables: Record<string, string> = {}
    let xmax = ''
    for (const r of rows) {
      if (r.name === 'xmax') xmax = r.sum
      else tables[r.name] = `${r.rows} rows, md5 ${r.sum}`
    }
    return { xmax, tables }
  }
  /** The state now, re-read only if some transaction took an id since `known`. */
  async function stateSince(known: DbState): Promise<DbState> {
    const { rows } = await db.query<{ xmax: string }>(XMAX_SQL)
    return rows[0]?.xmax === known.xmax ? known : readState()
  }
  const grantRows = (state: DbState) => Number.parseInt(state.tables.grants ?? '0', 10)

  // Fixture building: real requests, signed like the SDKs sign, that must succeed.
  async function expectStatus(
    listener: ListenerName,
    req: InjectRequest,
    status: number
  ): Promise<{ json: () => unknown; headers: Answer['headers'] }> {
    const res = await apps[listener].inject(req)
    assert.equal(
      res.statusCode,
      status,
      `fixture: ${describeExchange(listener, req)} → ${res.statusCode} ${res.body}`
    )
    return { json: () => res.json(), headers: res.headers }
  }
  const json = (value: unknown) => Buffer.from(JSON.stringify(value))
  const tenantPath = `/${server.tenantId}`
  const placeholder = (): Fixture => ({
    grantId: randomUUID(),
    continueId: randomUUID(),
    continueToken: randomBytes(32).toString('base64url'),
    interactId: randomUUID(),
    nonce: randomBytes(16).toString('hex').toUpperCase(),
    interactRef: randomUUID(),
    cookie: `opas_interaction=${randomUUID()}`,
    manageId: randomUUID(),
    token: randomBytes(32).toString('base64url'),
    csrf: randomBytes(32).toString('base64url')
  })
  const lastSegment = (url: string) => new URL(url).pathname.split('/').pop() as string

  async function interactive(finish: boolean): Promise<Fixture> {
    const res = await expectStatus(
      'auth',
      sign({
        method: 'POST',
        url: tenantPath,
        signer: client,
        body: json({
          client: client.walletAddress,
          access_token: {
            access: [
              {
                type: 'outgoing-payment',
                actions: ['create', 'read'],
                identifier: `${wallets.url}/alice`,
                limits: { debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 } }
              }
            ]
          },
          interact: {
            start: ['redirect'],
            ...(finish
              ? { finish: { method: 'redirect', uri: FINISH_URI, nonce: 'client-nonce' } }
              : {})
          }
        })
      }),
      200
    )
    const body = res.json() as {
      interact: { redirect: string }
      continue: { uri: string; access_token: { value: string } }
    }
    const [, , interactId, nonce] = new URL(body.interact.redirect).pathname.split('/')
    const started = await expectStatus(
      'auth',
      { method: 'GET', url: `/interact/${interactId}/${nonce}`, headers: {} },
      302
    )
    const setCookie = [started.headers['set-cookie']].flat()[0]
    assert.ok(typeof setCookie === 'string', 'the interaction start sets its session cookie')
    const { rows } = await db.query<{ ref: string; grantId: string }>(
      'select ref, grant_id as "grantId" from interactions where id = $1',
      [interactId]
    )
    return {
      ...placeholder(),
      grantId: rows[0]!.grantId,
      continueId: lastSegment(body.continue.uri),
      continueToken: body.continue.access_token.value,
      interactId: interactId!,
      nonce: nonce!,
      interactRef: rows[0]!.ref,
      cookie: setCookie.split(';')[0]!,
      csrf: server.services.consent.csrfToken(interactId!, nonce!)
    }
  }

  async function decided(choice: 'accept' | 'reject'): Promise<Fixture> {
    const f = await interactive(true)
    await expectStatus(
      'interaction',
      {
        method: 'POST',
        url: `/grant/${f.interactId}/${f.nonce}/${choice}`,
        headers: { 'x-idp-secret': server.idpSecret, 'content-type': 'application/json' },
        payload: json({})
      },
      202
    )
    return f
  }

  async function issued(directed: boolean): Promise<Fixture> {
    const res = await expectStatus(
      'auth',
      sign({
        method: 'POST',
        url: tenantPath,
        signer: client,
        body: json({
          client: directed ? { jwk: client.publicJwk } : client.walletAddress,
          access_token: {
            access: [{ type: 'incoming-payment', actions: ['create', 'read', 'list'] }]
          }
        })
      }),
      200
    )
    const body = res.json() as {
      access_token: { value: string; manage: string }
      continue: { uri: string; access_token: { value: string } }
    }
    const manageId = lastSegment(body.access_token.manage)
    const { rows } = await db.query<{ grantId: string }>(
      'select grant_id as "grantId" from access_tokens where management_id = $1',
      [manageId]
    )
    return {
      ...placeholder(),
      grantId: rows[0]!.grantId,
      continueId: lastSegment(body.continue.uri),
      continueToken: body.continue.access_token.value,
      manageId,
      token: body.access_token.value
    }
  }

  /** An issued grant after one more signed request on it (its revocation or a rotation). */
  async function issuedThen(
    request: (f: Fixture) => Pick<SignedSpec, 'method' | 'url' | 'token'>,
    status: number
  ): Promise<Fixture> {
    const f = await issued(false)
    await expectStatus('auth', sign({ ...request(f), signer: client }), status)
    return f
  }

  const builders: Record<FixtureName, () => Promise<Fixture>> = {
    pending: () => interactive(true),
    pollable: () => interactive(false),
    approved: () => decided('accept'),
    rejected: () => decided('reject'),
    issued: () => issued(false),
    directed: () => issued(true),
    revoked: () =>
      issuedThen(
        (f) => ({ method: 'DELETE', url: `/continue/${f.continueId}`, token: f.continueToken }),
        204
      ),
    rotated: () =>
      issuedThen((f) => ({ method: 'POST', url: `/token/${f.manageId}`, token: f.token }), 200)
  }

  /** Rebuilds consumed fixtures and drops old rows; returns the state requests start from. */
  async function settle(): Promise<DbState> {
    if (last !== undefined && stale.size === 0 && grantRows(last) <= PRUNE_AT) return last
    for (const name of stale) fixtures[name] = await builders[name]()
    stale.clear()
    let now = await readState()
    if (grantRows(now) > PRUNE_AT) {
      const keep = fixtureNames.map((n) => fixtures[n].grantId)
      await db.query('delete from grants where id <> all($1::uuid[])', [keep])
      now = await readState()
    }
    last = now
    return now
  }

  function statsOf(target: string): TargetStats {
    let s = stats.get(target)
    if (s === undefined) {
      s = {
        requests: 0,
        refused: 0,
        uncredentialed: 0,
        statuses: new Map(),
        deviations: new Map(),
        reasons: new Map()
      }
      stats.set(target, s)
    }
    return s
  }

  async function exchange(
    target: string,
    listener: ListenerName,
    request: InjectRequest | (() => InjectRequest),
    touches: ReadonlySet<FixtureName>,
    options: ExchangeOptions = {}
  ): Promise<Answer & { sent: InjectRequest }> {
    const before = await settle()
    const req = typeof request === 'function' ? request() : request
    const res = await apps[listener].inject({
      method: req.method as 'GET',
      url: req.url,
      headers: req.headers,
      ...(req.payload !== undefined ? { payload: req.payload } : {})
    })
    const answer: Answer = { status: res.statusCode, headers: res.headers, text: res.body }
    // Read before any assertion, so a failure leaves the next run (and shrinking) a true state.
    const after = await stateSince(before)
    last = after
    const changed =
      after !== before && JSON.stringify(after.tables) !== JSON.stringify(before.tables)
    const where = describeExchange(listener, req, answer)
    // The lines since the last exchange: this request's, and those of fixtures rebuilt for it.
    const logged = logLines.splice(0).join('')
    const fixtureSecrets = Object.values(fixtures).flatMap((f) => [
      f.continueToken,
      f.token,
      f.nonce,
      f.interactRef,
      f.csrf,
      f.cookie.split('=')[1] ?? ''
    ])
    for (const secret of [...staticSecrets, ...fixtureSecrets, ...secretsOf(req, answer)]) {
      assert.ok(
        !logged.includes(secret),
        `a secret reached the logs (${clip(secret, 12)}):\n${where}\nlog: ${clip(logged, 2000)}`
      )
    }
    const s = statsOf(target)
    s.requests++
    s.statuses.set(answer.status, (s.statuses.get(answer.status) ?? 0) + 1)

    const refused = answer.status >= 400
    // Marked before the credential check, so that after a failure it rebuilds what was consumed.
    if (!refused && changed) for (const name of touches) stale.add(name)
    const lacking = options.uncredentialed?.(req)
    if (lacking !== undefined) {
      s.uncredentialed++
      assert.ok(
        refused,
        `a request without a valid credential (${lacking}) was served${
          changed ? ' and changed the database' : ''
        }:\n${where}`
      )
    }
    if (!refused) return { ...answer, sent: req }
    s.refused++
    const reason = `${answer.status} ${clip(answer.text, 120)}`
    s.reasons.set(reason, (s.reasons.get(reason) ?? 0) + 1)
    const deviation = knownDeviations.find((d) => d.matches(req, answer))
    if (deviation && !strict) {
      s.deviations.set(deviation.name, (s.deviations.get(deviation.name) ?? 0) + 1)
    } else {
      assert.ok(answer.status < 500, `a server error:\n${where}`)
      if (isBrowserPage(req, answer)) assertNoticePage(req.method, answer, where)
      else if (isConsolePage(listener, answer)) assertConsolePage(req.method, answer, where)
      else if (isGraphqlAnswer(listener, req) && answer.status !== 404 && answer.status !== 405) {
        assertGraphqlErrors(req.method, answer, where)
      } else if (listener === 'service') {
        assertErrorEnvelope(req.method, answer, where, [...gnapErrorCodes, ...serviceApiErrorCodes])
      } else assertErrorEnvelope(req.method, answer, where)
    }
    assert.deepEqual(
      after.tables,
      before.tables,
      `a refused request changed the database:\n${where}`
    )
    return { ...answer, sent: req }
  }

  function report(target: string): string[] {
    const s = statsOf(target)
    const statuses = [...s.statuses].sort(([a], [b]) => a - b).map(([k, v]) => `${k}×${v}`)
    const deviations = [...s.deviations].map(([k, v]) => `${v}× ${k}`)
    const uncredentialed = s.uncredentialed ? ` (${s.uncredentialed} without a credential)` : ''
    const summary = `${target}: ${s.requests} requests, ${s.refused} refused${uncredentialed} [${statuses.join(' ')}]${
      deviations.length ? `; known deviations: ${deviations.join('; ')}` : ''
    }`
    if (process.env.FUZZ_VERBOSE !== '1') return [summary]
    const reasons = [...s.reasons].sort(([, a], [, b]) => b - a).map(([k, v]) => `  ${v}× ${k}`)
    return [summary, ...reasons]
  }

  await settle()
  // The fixtures' own requests were logged: the capture works at this level, so a clean log
  // later means nothing was leaked, not that nothing was looked at.
  assert.match(logLines.join(''), /"msg":"request completed"/, 'the fuzz world captures logs')
  return {
    server,
    client,
    other,
    stranger,
    walletsUrl: wallets.url,
    fixtures,
    resolve,
    bodyBytes,
    toInject,
    sign,
    exchange,
    async state() {
      last = await stateSince(await settle())
      return last.tables
    },
    stats,
    report,
    close: () => world.close()
  }
}
