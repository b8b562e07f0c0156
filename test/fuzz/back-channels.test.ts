import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import type { ListenerName } from '../../src/app.js'
import { apiSignatureHeader } from '../../src/tenant/api-signature.js'
import {
  anyJson,
  bodyArb,
  contentTypeArb,
  fieldText,
  graphqlBodyArb,
  getOrHead,
  idpSecretArb,
  interactive,
  introspectionBodyArb,
  refsArb,
  segmentArb,
  strayBody,
  tokened,
  w
} from './support/arbitraries.js'
import {
  assertEveryRouteReached,
  bodyContext,
  fuzz,
  fuzzUnsigned,
  requestArb,
  unknownRoutesArb
} from './support/run.js'
import {
  cat,
  fixtureNames,
  fixturesIn,
  mutate,
  mutations,
  Ref,
  type BodySpec,
  type RequestSpec,
  type Sym
} from './support/symbols.js'
import {
  startFuzzWorld,
  type Answer,
  type ExchangeOptions,
  type FuzzWorld
} from './support/world.js'

/**
 * Property-based fuzzing of the back channels: the IdP's interaction listener (x-idp-secret),
 * token introspection and the admin listener, plus probes and unknown routes on each. Same
 * properties as the auth listener's fuzz: no 5xx, every refusal a GNAP error object, no
 * refusal changes the database. On the IdP back channel, a request whose x-idp-secret (as
 * sent) is not exactly the server's secret is refused, so only the IdP can read or decide.
 */

let world: FuzzWorld

before(async () => {
  world = await startFuzzWorld()
})
after(async () => {
  await world?.close()
})

const ctx = () => bodyContext(world)

// The fuzz's third property rests on this check, so it is tested first.
describe('the state check', () => {
  test('sees a write to any state table, and nothing else changes it', async () => {
    const db = world.server.services.db
    const grantId = world.fixtures.issued.grantId
    const writes = [
      ['grants', "update grants set updated_at = updated_at + interval '1 second' where id = $1"],
      [
        'accesses',
        "update accesses set identifier = coalesce(identifier, '') || 'x' where grant_id = $1"
      ],
      ['access_tokens', 'update access_tokens set expires_in = expires_in + 1 where grant_id = $1'],
      [
        'subjects',
        `insert into subjects (id, grant_id, position, sub_id, sub_id_format)
         values (gen_random_uuid(), $1, 1, 'https://wallet.example/sub', 'uri')`
      ],
      ['interactions', 'update interactions set expires_in = expires_in + 1'],
      ['tenants', "update tenants set updated_at = updated_at + interval '1 second'"]
    ] as const
    const start = await world.state()
    assert.deepEqual(await world.state(), start, 'nothing written, nothing changed')
    for (const [table, sql] of writes) {
      const before = await world.state()
      await db.query(sql, sql.includes('$1') ? [grantId] : [])
      const after = await world.state()
      assert.notEqual(after[table], before[table], `a write to ${table} is seen`)
    }
  })
})

describe('interaction listener: the IdP back channel', () => {
  const grantPath = (choice: boolean) =>
    refsArb(interactive, ['interactId', 'nonce']).chain(([id, nonce]) =>
      fc
        .tuple(
          segmentArb(fc.constant(id!)),
          segmentArb(fc.constant(nonce!)),
          segmentArb(fc.constantFrom('accept', 'reject'))
        )
        .map(([i, n, c]) =>
          choice ? cat('/grant/', i, '/', n, '/', c) : cat('/grant/', i, '/', n)
        )
    )
  const idpHeaders = () => fc.record({ 'x-idp-secret': idpSecretArb(world.server.idpSecret) })
  // The header as sent: toInject trims it as HTTP would, so ` ${secret}` is the secret.
  const idpSecret: ExchangeOptions = {
    uncredentialed: (sent) => {
      const secret = sent.headers['x-idp-secret']
      if (secret === undefined) return 'no x-idp-secret'
      return secret === world.server.idpSecret ? undefined : "x-idp-secret not the server's"
    }
  }

  test('GET /grant/:id/:nonce', async (t) => {
    const arb = requestArb(world, {
      method: getOrHead,
      path: grantPath(false),
      headers: idpHeaders(),
      body: strayBody
    })
    const target = 'interaction GET /grant/:id/:nonce'
    await fuzzUnsigned(world, t, target, 'interaction', arb, idpSecret)
  })

  test('POST /grant/:id/:nonce/:choice', async (t) => {
    const arb = requestArb(world, {
      method: fc.constant('POST'),
      path: grantPath(true),
      headers: idpHeaders(),
      body: bodyArb(fc.constant({}), 4)
    })
    const target = 'interaction POST /grant/:id/:nonce/:choice'
    await fuzzUnsigned(world, t, target, 'interaction', arb, idpSecret)
  })
})

describe('introspection listener', () => {
  test('POST /', async (t) => {
    const arb = requestArb(world, {
      method: fc.constant('POST'),
      path: fc.constant('/'),
      body: bodyArb(
        introspectionBodyArb(
          ctx(),
          refsArb(tokened, ['token']).map(([token]) => token!)
        )
      )
    })
    await fuzzUnsigned(world, t, 'introspection POST /', 'introspection', arb)
  })

  test('GET /.well-known/gnap-as-rs', async (t) => {
    const path = '/.well-known/gnap-as-rs'
    const arb = requestArb(world, { method: getOrHead, path: fc.constant(path), body: strayBody })
    await fuzzUnsigned(world, t, `introspection GET ${path}`, 'introspection', arb)
  })
})

describe('admin listener', () => {
  test('GET /metrics', async (t) => {
    const arb = requestArb(world, {
      method: getOrHead,
      path: fc.constant('/metrics'),
      body: strayBody
    })
    await fuzzUnsigned(world, t, 'admin GET /metrics', 'admin', arb)
  })
})

describe('admin GraphQL API', () => {
  const graphqlArb = (headers: fc.Arbitrary<Record<string, Sym | undefined>>) =>
    requestArb(world, {
      method: fc.constant('POST'),
      path: fc.constant('/graphql'),
      body: bodyArb(graphqlBodyArb(refsArb(fixtureNames, ['grantId']).map(([id]) => id!))),
      headers
    })
  const operator = () => world.server.services.config

  test('POST /graphql without a valid signature: always refused', async (t) => {
    const headers = fc.record(
      {
        'tenant-id': fc.oneof(fc.constant(operator().operatorTenantId), fc.uuid(), fieldText(40)),
        signature: fc.oneof(
          fieldText(80),
          fc
            .tuple(
              fc.integer({ min: 0 }),
              fc.string({
                unit: fc.constantFrom(...'0123456789abcdef'),
                minLength: 64,
                maxLength: 64
              })
            )
            .map(([t, hex]) => `t=${t}, v1=${hex}`)
        )
      },
      { requiredKeys: [] }
    )
    await fuzzUnsigned(world, t, 'admin POST /graphql unsigned', 'admin', graphqlArb(headers), {
      uncredentialed: () => 'no valid admin signature'
    })
  })

  test('POST /graphql signed by the operator: no 5xx, every error with its code', async (t) => {
    const arb = graphqlArb(fc.constant({}))
    await fuzz(world, t, 'admin POST /graphql signed', arb, async (spec) => {
      await world.exchange(
        'admin POST /graphql signed',
        'admin',
        () => {
          const req = world.toInject(spec)
          let parsed: unknown
          try {
            parsed = req.payload === undefined ? undefined : JSON.parse(req.payload.toString())
          } catch {
            parsed = undefined // not JSON: signed as nothing, and refused
          }
          // A fresh timestamp per request: each signature is new to the replay record. A body
          // too deep to canonicalise goes unsigned (and is refused).
          let signature = 'unsigned'
          try {
            signature = apiSignatureHeader(operator().adminApiSecret, 1, parsed, nextMs())
          } catch {
            // RangeError: nested beyond the call stack
          }
          return {
            ...req,
            headers: { ...req.headers, 'tenant-id': operator().operatorTenantId, signature }
          }
        },
        fixturesIn(spec)
      )
    })
  })
})

describe('service API', () => {
  // Tenant ids the fuzz creates and then reads, changes and deletes (never the operator's,
  // which the other targets' fixtures belong to).
  const ids = fc.constantFrom(
    '6f1c2b3a-4d5e-4f60-8a7b-9c8d7e6f5a41',
    '6f1c2b3a-4d5e-4f60-8a7b-9c8d7e6f5a42'
  )
  const idPath = fc.oneof(ids, fc.uuid(), fieldText(40))
  const secret = fc.oneof(fieldText(40), fc.constant(''), anyJson(1))
  const url = fc.oneof(fc.webUrl(), fieldText(40), fc.constant(null))
  const tenantBody = fc.record(
    {
      id: fc.oneof(ids, fc.uuid(), fieldText(40)),
      apiSecret: secret,
      idpConsentUrl: url,
      idpSecret: secret
    },
    { requiredKeys: [] }
  )
  const targets = [
    ['POST', fc.constant('/tenant'), tenantBody],
    ['GET', idPath.map((id) => `/tenant/${id}`), fc.constant(undefined)],
    ['PATCH', idPath.map((id) => `/tenant/${id}`), tenantBody],
    [
      'DELETE',
      idPath.map((id) => `/tenant/${id}`),
      fc.record(
        {
          deletedAt: fc.oneof(
            fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
            fieldText(30)
          )
        },
        { requiredKeys: [] }
      )
    ]
  ] as const
  for (const [method, path, body] of targets) {
    test(`${method} /tenant${method === 'POST' ? '' : '/:id'}`, async (t) => {
      const arb = requestArb(world, {
        method: method === 'GET' ? getOrHead : fc.constant(method),
        path,
        body: method === 'GET' ? strayBody : bodyArb(body as fc.Arbitrary<unknown>)
      })
      await fuzzUnsigned(world, t, `service ${method} /tenant`, 'service', arb)
    })
  }
})

describe('operator console', () => {
  /**
   * Live sessions of the operator, stood for by placeholders in generated requests and filled
   * in when a request is sent: a sign-out ends one, and the next request gets a fresh one.
   */
  const SESSION = 'FUZZ-SESSION'
  const FORM_TOKEN = 'FUZZ-FORM-TOKEN'
  let live: { cookie: string; formToken: string } | undefined
  let otherTenant = ''

  async function signIn(): Promise<{ cookie: string; formToken: string }> {
    const admin = world.server.apps.admin
    const page = await admin.inject({ method: 'GET', url: '/' })
    const nonce = [page.headers['set-cookie']].flat()[0]!.split(';')[0]!
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!
    const res = await admin.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { cookie: nonce, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        csrf,
        tenantId: world.server.tenantId,
        apiSecret: world.server.env.ADMIN_API_SECRET!
      }).toString()
    })
    assert.equal(res.statusCode, 303, res.body)
    const cookie = [res.headers['set-cookie']]
      .flat()
      .map((c) => c!.split(';')[0]!)
      .find((c) => c.startsWith('opas_console='))!
    const grants = await admin.inject({ method: 'GET', url: '/grants', headers: { cookie } })
    return { cookie, formToken: /name="csrf" value="([^"]+)"/.exec(grants.body)![1]! }
  }

  before(async () => {
    otherTenant = randomUUID()
    const res = await world.server.apps.service.inject({
      method: 'POST',
      url: '/tenant',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: otherTenant, apiSecret: 'fuzz-console-tenant-secret' })
    })
    assert.equal(res.statusCode, 204)
  })

  /** A generated request with the live session's cookie and form token put in. */
  async function sendConsole(target: string, spec: RequestSpec) {
    live ??= await signIn()
    const session = live
    const answer = await world.exchange(
      target,
      'admin',
      () => {
        const req = world.toInject(spec)
        const cookie = req.headers.cookie
        if (typeof cookie === 'string') req.headers.cookie = cookie.replace(SESSION, session.cookie)
        if (req.payload !== undefined) {
          req.payload = Buffer.from(
            req.payload.toString('latin1').replace(FORM_TOKEN, session.formToken),
            'latin1'
          )
        }
        return req
      },
      fixturesIn(spec),
      {
        // Without the session nothing is served but the sign-in page and the script; a form
        // without its token is served nowhere.
        uncredentialed: (sent) => {
          const path = sent.url.split('?')[0]!
          if (path === '/' || path === '/console.js' || path === '/sign-in') return undefined
          if (!String(sent.headers.cookie ?? '').includes(session.cookie)) return 'no session'
          if (
            sent.method === 'POST' &&
            !sent.payload?.toString('latin1').includes(session.formToken)
          )
            return 'no form token'
          return undefined
        }
      }
    )
    if (answer.sent.url.startsWith('/sign-out') && answer.status === 303) live = undefined
  }

  const cookies = fc.oneof(
    w(6, fc.constant(SESSION)),
    w(2, fc.constant(undefined)),
    w(
      1,
      fc.constantFrom(...mutations).map((m): Sym => cat('opas_console=', mutate('s.abc', m)))
    ),
    w(
      1,
      fieldText(80).map((t): Sym => cat('opas_console=', t))
    ),
    w(1, fc.constant(cat(SESSION, 'x')))
  )
  const grantId = segmentArb(refsArb(fixtureNames, ['grantId']).map(([id]) => id!))
  const tenantId = segmentArb(fc.constant(otherTenant as Sym))
  const formFields = fc.record(
    {
      csrf: fc.oneof(w(6, fc.constant(FORM_TOKEN)), w(1, fieldText(60)), w(1, fc.constant(''))),
      id: fc.oneof(fc.uuid(), fieldText(40)),
      apiSecret: fc.oneof(fc.constant(''), fieldText(40)),
      idpConsentUrl: fc.oneof(fc.constant(''), fc.webUrl(), fieldText(60)),
      idpSecret: fieldText(40),
      idpSecretChange: fc.constantFrom('keep', 'set', 'clear', 'x', ''),
      next: fc.constantFrom('/grants', '//evil.example', 'https://evil.example/', '/overview')
    },
    { requiredKeys: [] }
  )
  const queryOf = fc.oneof(
    fc.constant(''),
    fc
      .record(
        {
          wallet: fc.oneof(fc.webUrl(), fieldText(40)),
          state: fc.constantFrom('issued', 'pending', 'revoked', 'x', ''),
          after: fc.oneof(fc.uuid(), fieldText(10)),
          before: fc.oneof(fc.uuid(), fieldText(10)),
          tenant: fc.uuid(),
          // The Activity page's filters.
          type: fc.constantFrom('grant.revoked', 'tenant', 'grant', 'no.such', ''),
          grant: fc.oneof(fc.uuid(), fieldText(10)),
          since: fc.constantFrom('30m', '7d', '2026-01-01T00:00', '2026-13-01', 'x', ''),
          until: fc.oneof(
            fc.date().map((d) => (isNaN(d.getTime()) ? '' : d.toISOString())),
            fieldText(10)
          )
        },
        { requiredKeys: [] }
      )
      .map((q) => `?${new URLSearchParams(q as Record<string, string>).toString()}`)
  )

  test('pages (GET): no 5xx, a page or the error object, nothing changed', async (t) => {
    const path = fc.oneof(
      fc.constantFrom(
        '/',
        '/console.js',
        '/grants',
        '/activity',
        '/webhooks',
        '/overview',
        '/overview/charts'
      ),
      fc.constantFrom('/tenants', '/tenants/new'),
      grantId.map((id): Sym => cat('/grants/', id)),
      grantId.map((id): Sym => cat('/grants/', id, '/revoke')),
      tenantId.map((id): Sym => cat('/tenants/', id)),
      tenantId.map((id): Sym => cat('/tenants/', id, '/delete'))
    )
    const arb = fc
      .tuple(
        requestArb(world, {
          method: getOrHead,
          path,
          headers: fc.record({ cookie: cookies }, { requiredKeys: [] }),
          body: strayBody
        }),
        queryOf
      )
      .map(([spec, query]): RequestSpec => ({ ...spec, url: cat(spec.url, query) }))
    // Every page and its HEAD once, with the session and without, whatever the draw.
    const fixed = [
      '/',
      '/console.js',
      '/grants',
      '/activity',
      '/webhooks',
      '/overview',
      '/overview/charts',
      '/tenants'
    ]
    const ids = (grant: Sym, tenant: Sym): Sym[] => [
      ...fixed,
      '/tenants/new',
      cat('/grants/', grant),
      cat('/grants/', grant, '/revoke'),
      cat('/tenants/', tenant),
      cat('/tenants/', tenant, '/delete')
    ]
    for (const url of ids(new Ref('issued', 'grantId'), otherTenant)) {
      for (const method of ['GET', 'HEAD']) {
        for (const cookie of [SESSION, undefined]) {
          await sendConsole('admin console pages', {
            method,
            url,
            headers: { accept: 'text/html', cookie },
            body: { kind: 'none' }
          })
        }
      }
    }
    await fuzz(world, t, 'admin console pages', arb, (spec) =>
      sendConsole('admin console pages', spec)
    )
  })

  test('forms (POST): no 5xx; without the session and its form token never served', async (t) => {
    const path = fc.oneof(
      grantId.map((id): Sym => cat('/grants/', id, '/revoke')),
      fc.constant('/tenants'),
      tenantId.map((id): Sym => cat('/tenants/', id)),
      tenantId.map((id): Sym => cat('/tenants/', id, '/delete')),
      grantId.map((id): Sym => cat('/webhooks/', id, '/retry')),
      fc.constant('/sign-out')
    )
    const body = fc.oneof(
      w(
        8,
        formFields.map((fields): BodySpec => ({ kind: 'form', fields }))
      ),
      w(2, bodyArb(fc.constant({}), 2))
    )
    const arb = requestArb(world, {
      method: fc.constant('POST'),
      path,
      headers: fc.record({ cookie: cookies }, { requiredKeys: [] }),
      contentType: fc.oneof(
        w(8, fc.constant('application/x-www-form-urlencoded')),
        w(2, contentTypeArb)
      ),
      body
    })
    // Every form once with a forged token, whatever the draw.
    for (const url of [
      cat('/grants/', new Ref('issued', 'grantId'), '/revoke'),
      '/tenants',
      cat('/tenants/', otherTenant),
      cat('/tenants/', otherTenant, '/delete'),
      cat('/webhooks/', new Ref('issued', 'grantId'), '/retry'),
      '/sign-out'
    ]) {
      await sendConsole('admin console forms', {
        method: 'POST',
        url,
        headers: {
          accept: 'text/html',
          cookie: SESSION,
          'content-type': 'application/x-www-form-urlencoded'
        },
        body: { kind: 'form', fields: { csrf: 'forged' } }
      })
    }
    await fuzz(world, t, 'admin console forms', arb, (spec) =>
      sendConsole('admin console forms', spec)
    )
  })

  test('POST /sign-in: no 5xx, a page, never a session for a wrong secret', async (t) => {
    const arb = fc.record({
      tenantId: fc.oneof(
        fc.constant(world.server.tenantId),
        fc.constant(otherTenant),
        fc.uuid(),
        fieldText(40)
      ),
      apiSecret: fc.oneof(
        fc.constant(world.server.env.ADMIN_API_SECRET!),
        fc.constantFrom(...mutations).map((m) => mutate(world.server.env.ADMIN_API_SECRET!, m)),
        fieldText(40)
      ),
      csrf: fc.oneof(fc.constant('valid'), fieldText(40), fc.constant('')),
      contentType: fc.oneof(
        w(8, fc.constant('application/x-www-form-urlencoded')),
        w(1, contentTypeArb)
      )
    })
    await fuzz(world, t, 'admin POST /sign-in', arb, async (r) => {
      const page = await world.server.apps.admin.inject({ method: 'GET', url: '/' })
      const nonce = [page.headers['set-cookie']].flat()[0]!.split(';')[0]!
      const csrf = r.csrf === 'valid' ? /name="csrf" value="([^"]+)"/.exec(page.body)![1]! : r.csrf
      const answer = await world.exchange(
        'admin POST /sign-in',
        'admin',
        {
          method: 'POST',
          url: '/sign-in',
          headers: {
            cookie: nonce,
            accept: 'text/html',
            ...(r.contentType ? { 'content-type': r.contentType } : {})
          },
          payload: Buffer.from(
            new URLSearchParams({ csrf, tenantId: r.tenantId, apiSecret: r.apiSecret }).toString()
          )
        },
        new Set()
      )
      const session = String(answer.headers['set-cookie'] ?? '').includes('opas_console=')
      const right =
        r.tenantId.toLowerCase() === world.server.tenantId.toLowerCase() &&
        r.apiSecret === world.server.env.ADMIN_API_SECRET
      if (!right) assert.ok(!session || answer.status >= 400, 'a wrong secret opened a session')
    })
  })
})

let lastMs = 0
/** Strictly increasing milliseconds, so that no two generated requests share a signature. */
const nextMs = () => (lastMs = Math.max(Date.now(), lastMs + 1))

const listeners: ListenerName[] = ['interaction', 'introspection', 'admin', 'service']

describe('probes and unknown routes', () => {
  for (const listener of listeners) {
    for (const path of ['/healthz', '/readyz']) {
      test(`${listener}: GET ${path}`, async (t) => {
        const arb = requestArb(world, {
          method: getOrHead,
          path: fc.constant(path),
          body: strayBody
        })
        await fuzzUnsigned(world, t, `${listener} GET ${path}`, listener, arb)
      })
    }

    test(`${listener}: unknown routes and unusual methods`, async (t) => {
      await fuzzUnsigned(world, t, `${listener} unknown routes`, listener, unknownRoutesArb(world))
    })
  }

  test('every route of these listeners was reached', async (t) => {
    for (const line of await assertEveryRouteReached(world, listeners)) t.diagnostic(line)
  })
})

/**
 * What the fuzz found wrong in its first full run, fixed since: kept as plain regressions
 * (knownDeviations in support/world.ts lists what a future run finds and tolerates).
 */
describe('found by the fuzz, fixed', () => {
  const inject = async (
    listener: ListenerName,
    method: string,
    url: string,
    headers: Record<string, string> = {}
  ): Promise<Answer> => {
    const res = await world.server.apps[listener].inject({ method: method as 'GET', url, headers })
    return { status: res.statusCode, headers: res.headers, text: res.body }
  }
  const assertEnvelope = (a: Answer, status: number, description?: string) => {
    const where = `${a.status} ${String(a.headers['content-type'])} ${a.text}`
    assert.equal(a.status, status, where)
    assert.match(String(a.headers['content-type']), /^application\/json\b/, where)
    const body = JSON.parse(a.text) as { error?: { code?: unknown; description?: unknown } }
    assert.deepEqual(Object.keys(body), ['error'], where)
    assert.equal(body.error?.code, 'invalid_request', where)
    if (description !== undefined) assert.equal(body.error?.description, description, where)
  }
  const unstorable = 'request contains a character that cannot be stored (U+0000)'

  test('a NUL character in a nonce or a grant request field is a 400 naming it, not a 500', async () => {
    const f = world.fixtures.pending
    const secret = { 'x-idp-secret': world.server.idpSecret }
    for (const [listener, method, url, headers] of [
      ['auth', 'GET', `/interact/${f.interactId}/%00`, {}],
      ['auth', 'GET', `/interact/${f.interactId}/%00/finish`, {}],
      ['interaction', 'GET', `/grant/${f.interactId}/%00`, secret],
      ['interaction', 'POST', `/grant/${f.interactId}/%00/accept`, secret]
    ] as const) {
      assertEnvelope(await inject(listener, method, url, headers), 400, unstorable)
    }
    const grant = world.sign({
      method: 'POST',
      url: '/',
      signer: world.client,
      body: Buffer.from(
        JSON.stringify({
          client: world.client.walletAddress,
          access_token: {
            access: [
              {
                type: 'outgoing-payment',
                actions: ['create'],
                identifier: `${world.walletsUrl}/alice`
              }
            ]
          },
          interact: {
            start: ['redirect'],
            finish: { method: 'redirect', uri: 'http://127.0.0.1:9/cb', nonce: 'a\u0000b' }
          }
        })
      )
    })
    const res = await world.server.apps.auth.inject(grant)
    assertEnvelope(
      { status: res.statusCode, headers: res.headers, text: res.body },
      400,
      unstorable
    )
  })

  test('a malformed percent-encoding in the path is a GNAP 400 on every listener', async () => {
    for (const [listener, url] of [
      ['auth', '/interact/%ZZ/x'],
      ['auth', '/continue/%E0%A4%A'],
      ['interaction', '/grant/%ZZ/x'],
      ['introspection', '/%ZZ'],
      ['admin', '/metrics%ZZ']
    ] as const) {
      assertEnvelope(await inject(listener, 'GET', url), 400)
    }
  })

  test('a path parameter over 100 characters is a GNAP 414', async () => {
    const res = await inject('auth', 'GET', `/interact/${'a'.repeat(101)}/x`)
    assertEnvelope(res, 414, 'invalid request URL')
  })

  // (On a grant endpoint it is discovery instead, RFC 9635 §9: test/integration/discovery.test.ts.)
  test('OPTIONS without preflight headers is answered as a preflight, not with plain text', async () => {
    const res = await inject('auth', 'OPTIONS', '/continue/x')
    assert.equal(res.status, 204, `${res.status} ${res.text}`)
    assert.equal(res.text, '')
  })

  test('OPTIONS on a listener without CORS is a GNAP 405 naming the methods', async () => {
    for (const listener of ['interaction', 'introspection'] as const) {
      const res = await inject(listener, 'OPTIONS', listener === 'interaction' ? '/grant/x/y' : '/')
      assertEnvelope(res, 405)
      assert.ok(res.headers['allow'], listener)
    }
  })
})
