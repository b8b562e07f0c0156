import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { createSecretBox } from '../../src/tenant/secret-box.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { postgresOnly } from '../helpers/requirements.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { signedRequest } from '../helpers/signed-request.js'
import { authServiceClient, type ServiceAnswer } from '../helpers/tenants.js'
import { startPeerServer, startTestServer, type TestServer } from '../helpers/test-server.js'
import { createGrantFlows, nonInteractiveGrantBody } from './support/grant-flows.js'

/**
 * Rafiki's service API (SERVICE_API_PORT), driven with the request shapes of Rafiki backend's
 * AuthServiceClient: tenants created, read, changed and soft-deleted, each failure a clear
 * status with a JSON body, and each change seen by the grant flows.
 */

let world: ServerWithClient
let api: ReturnType<typeof authServiceClient>

before(async () => {
  world = await startServerWithClient()
  api = authServiceClient(world.server.serviceUrl)
})
after(() => world.close())

const newTenant = (extra: Record<string, string> = {}) => ({
  id: randomUUID(),
  apiSecret: `api-secret-${randomUUID()}`,
  idpConsentUrl: 'http://127.0.0.1:9/tenant/consent',
  idpSecret: `idp-secret-${randomUUID()}`,
  ...extra
})

function assertError(res: ServiceAnswer, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body))
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  const body = res.body as { error?: { code?: string; description?: string } }
  assert.equal(body.error?.code, code, JSON.stringify(res.body))
  assert.ok(body.error?.description, 'the error says what is wrong')
}

async function tenantRow(id: string) {
  const { rows } = await world.server.services.db.query<{
    apiSecret: Uint8Array | null
    deletedAt: Date | null
  }>(
    'select api_secret_encrypted as "apiSecret", deleted_at as "deletedAt" from tenants where id = $1',
    [id]
  )
  return rows[0]
}

/** A tenant's grant flows: the grant endpoint `/{id}` and its IdP secret. */
function flowsOf(tenant: { id: string; idpSecret: string }) {
  const server: TestServer = {
    ...world.server,
    tenantId: tenant.id,
    idpSecret: tenant.idpSecret,
    grantUrl: `${world.server.services.config.authServerUrl}/${tenant.id}`
  }
  return createGrantFlows(server, world.app, `${world.wallets.url}/alice`)
}

describe('POST /tenant, GET /tenant/:id', () => {
  test('a tenant created as the backend creates it serves grants through its own IdP', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    const shown = await api.get(tenant.id)
    assert.equal(shown.status, 200)
    assert.deepEqual(shown.body, {
      id: tenant.id,
      idpConsentUrl: tenant.idpConsentUrl,
      hasIdpSecret: true,
      webhookUrl: null,
      hasWebhookSecret: false,
      idpSecret: null
    })

    const flows = flowsOf(tenant)
    const started = await flows.startInteraction((await flows.requestInteractive()).redirect)
    assert.equal(`${started.location.origin}${started.location.pathname}`, tenant.idpConsentUrl)
    // Only this tenant's IdP secret decides its interactions.
    const operator = createGrantFlows(world.server, world.app, `${world.wallets.url}/alice`)
    assert.equal((await operator.idpChoose(started.id, started.nonce, 'accept')).status, 401)
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'accept')).status, 202)
  })

  test('the API secret is stored encrypted, bound to its tenant, and the IdP secret hashed', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    const sealed = (await tenantRow(tenant.id))!.apiSecret!
    assert.ok(!Buffer.from(sealed).includes(Buffer.from(tenant.apiSecret)), 'not in clear')
    assert.equal(await world.server.services.tenants.apiSecretOf(tenant.id), tenant.apiSecret)
    const box = createSecretBox(world.server.env.TENANT_SECRETS_KEY!)
    assert.equal(box.open(sealed, tenant.id), tenant.apiSecret)
    assert.equal(box.open(sealed, randomUUID()), undefined, 'another tenant cannot use it')
    assert.equal(createSecretBox('another key'.repeat(4)).open(sealed, tenant.id), undefined)
  })

  test('a taken id is 409, whether its tenant is live or deleted', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    assertError(
      await api.create({ ...tenant, apiSecret: `other-${randomUUID()}` }),
      409,
      'conflict'
    )
    assert.equal((await api.delete(tenant.id, new Date())).status, 204)
    assertError(await api.create(tenant), 409, 'conflict')
  })

  test('a bad body is 400 and creates nothing', async () => {
    const id = randomUUID()
    const apiSecret = `api-secret-${randomUUID()}`
    const bodies: unknown[] = [
      { id, apiSecret: '' },
      { id: 'not-a-uuid', apiSecret },
      { id, apiSecret, idpConsentUrl: 'ftp://idp.example' },
      { id, apiSecret, idpConsentUrl: `https://idp.example/${'x'.repeat(2048)}` },
      { id, apiSecret, extra: true },
      { id, apiSecret: 42 },
      { id, apiSecret: 'x'.repeat(1025) },
      'null'
    ]
    for (const body of bodies) {
      const res = await fetch(`${world.server.serviceUrl}/tenant`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body)
      })
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.ok(((await res.json()) as { error: { code: string } }).error.code)
    }
    assert.equal(await tenantRow(id), undefined)
  })

  test('an unknown or malformed id is 404', async () => {
    for (const id of [randomUUID(), 'nope']) {
      assertError(await api.get(id), 404, 'not_found')
      assertError(await api.update(id, { apiSecret: `api-secret-${id}` }), 404, 'not_found')
      assertError(await api.delete(id, new Date()), 404, 'not_found')
    }
  })

  test('an API or IdP secret shorter than 20 characters is 400, naming the minimum', async () => {
    const short = 'x'.repeat(19)
    for (const [body, field] of [
      [newTenant({ apiSecret: short }), 'apiSecret'],
      [newTenant({ idpSecret: short }), 'idpSecret'],
      [newTenant({ idpSecret: '' }), 'idpSecret']
    ] as const) {
      const res = await api.create(body)
      assertError(res, 400, 'invalid_request')
      const { description } = (res.body as { error: { description: string } }).error
      assert.equal(description, `${field} must be at least 20 characters`)
      assert.equal(await tenantRow(body.id), undefined)
    }
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    for (const change of [{ apiSecret: short }, { idpSecret: short }]) {
      assertError(await api.update(tenant.id, change), 400, 'invalid_request')
    }
    assert.equal(await world.server.services.tenants.apiSecretOf(tenant.id), tenant.apiSecret)
    // Exactly the minimum is enough.
    const apiSecret = 'y'.repeat(20)
    assert.equal((await api.update(tenant.id, { apiSecret })).status, 204)
    assert.equal(await world.server.services.tenants.apiSecretOf(tenant.id), apiSecret)
  })

  test('without an API secret, one is generated and answered once (201); Rafiki gets 204', async () => {
    const tenant = { id: randomUUID(), idpConsentUrl: 'http://127.0.0.1:9/tenant/consent' }
    const res = await fetch(`${world.server.serviceUrl}/tenant`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tenant)
    })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('cache-control'), 'no-store')
    const body = (await res.json()) as { id: string; apiSecret: string }
    assert.equal(body.id, tenant.id)
    assert.match(body.apiSecret, /^[\w-]{43}$/, '256 random bits')
    assert.equal(await world.server.services.tenants.apiSecretOf(tenant.id), body.apiSecret)
  })
})

describe('PATCH /tenant/:id', () => {
  test('changes the IdP URL and secret (the old secret stops working) and the API secret', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    const change = {
      idpConsentUrl: 'http://127.0.0.1:9/moved/consent',
      idpSecret: `idp-secret-${randomUUID()}`,
      apiSecret: `api-secret-${randomUUID()}`
    }
    assert.equal((await api.update(tenant.id, change)).status, 204)
    assert.equal(await world.server.services.tenants.apiSecretOf(tenant.id), change.apiSecret)

    const moved = flowsOf({ id: tenant.id, idpSecret: change.idpSecret })
    const started = await moved.startInteraction((await moved.requestInteractive()).redirect)
    assert.equal(`${started.location.origin}${started.location.pathname}`, change.idpConsentUrl)
    const old = flowsOf(tenant)
    assert.equal((await old.idpChoose(started.id, started.nonce, 'accept')).status, 401)
    assert.equal((await moved.idpChoose(started.id, started.nonce, 'accept')).status, 202)
  })

  test('an id in upper case names the same tenant, whose changed API secret still opens', async () => {
    const tenant = newTenant()
    assert.equal((await api.create({ ...tenant, id: tenant.id.toUpperCase() })).status, 204)
    const apiSecret = `api-secret-${randomUUID()}`
    assert.equal((await api.update(tenant.id.toUpperCase(), { apiSecret })).status, 204)
    assert.equal(await world.server.services.tenants.apiSecretOf(tenant.id), apiSecret)
    assert.equal(
      await world.server.services.tenants.apiSecretOf(tenant.id.toUpperCase()),
      apiSecret
    )
    assert.equal((await api.get(tenant.id.toUpperCase())).status, 200)
  })

  test('an empty or unknown change is 400; a deleted tenant is 404', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    assertError(await api.update(tenant.id, {}), 400, 'invalid_request')
    const unknownField = await fetch(`${world.server.serviceUrl}/tenant/${tenant.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: randomUUID() })
    })
    assert.equal(unknownField.status, 400)
    assert.equal((await api.delete(tenant.id, new Date())).status, 204)
    assertError(
      await api.update(tenant.id, { apiSecret: `api-secret-${tenant.id}` }),
      404,
      'not_found'
    )
    assertError(await api.get(tenant.id), 404, 'not_found')
  })
})

describe('DELETE /tenant/:id', () => {
  test('a deleted tenant issues nothing and its tokens introspect inactive, at once', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    const flows = flowsOf(tenant)
    const { token } = await flows.requestNonInteractive()
    assert.equal((await flows.introspect(token.value)).active, true)

    const deletedAt = new Date()
    assert.equal((await api.delete(tenant.id, deletedAt)).status, 204)
    assert.equal((await tenantRow(tenant.id))!.deletedAt?.toISOString(), deletedAt.toISOString())
    const refused = await signedRequest(
      `${world.server.services.config.authServerUrl}/${tenant.id}`,
      {
        client: world.app,
        body: nonInteractiveGrantBody(world.app)
      }
    )
    assertGnapError(refused, 404, 'invalid_request', 'unknown tenant')
    assert.deepEqual(await flows.introspect(token.value), { active: false })
    assertError(await api.delete(tenant.id, new Date()), 404, 'not_found')
  })

  test('deletedAt must be a date', async () => {
    const tenant = newTenant()
    assert.equal((await api.create(tenant)).status, 204)
    const outOfRange = [
      { deletedAt: '+010000-01-01T00:00:00.000Z' },
      { deletedAt: '-000001-01-01' }
    ]
    for (const body of [{ deletedAt: 'yesterday' }, {}, { deletedAt: 5 }, ...outOfRange]) {
      const res = await fetch(`${world.server.serviceUrl}/tenant/${tenant.id}`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body)
      })
      assert.equal(res.status, 400, JSON.stringify(body))
    }
    assert.equal((await tenantRow(tenant.id))!.deletedAt, null)
  })
})

describe('the operator tenant', () => {
  test('the first start creates it from the configuration, and the trail says so', async () => {
    const [created, ...more] = await world.server.services.events.list(
      { tenantId: world.server.tenantId, typeIn: ['tenant.created'] },
      { limit: 10 }
    )
    assert.deepEqual(more, [])
    assert.equal(created!.actorKind, 'configuration')
    assert.ok(created!.actor, 'the host that started')
    assert.ok((created!.details.fields as string[]).includes('apiSecret'))
    assert.ok(
      !JSON.stringify(created!.details).includes(world.server.services.config.adminApiSecret)
    )
  })

  test('a value set in the environment wins over one changed here, and says so; a generated one does not', async () => {
    const operatorId = world.server.tenantId
    const config = world.server.services.config
    const changed = {
      idpConsentUrl: 'http://127.0.0.1:9/changed/consent',
      apiSecret: 'changed-operator-api-secret'
    }
    assert.equal((await api.update(operatorId, changed)).status, 204)
    const sync = async (fromEnvironment: ('idpConsentUrl' | 'idpSecret' | 'apiSecret')[]) => {
      const overridden: string[] = []
      await world.server.services.tenants.syncOperator(
        {
          id: operatorId,
          idpConsentUrl: config.identityServerUrl ?? null,
          idpSecret: config.identityServerSecret,
          apiSecret: config.adminApiSecret,
          fromEnvironment: new Set(fromEnvironment)
        },
        (setting) => overridden.push(setting),
        { actor: { kind: 'configuration', host: 'opas-host-1' } }
      )
      return overridden
    }
    const overrideEvents = async () =>
      (
        await world.server.services.events.list(
          { tenantId: operatorId, typeIn: ['tenant.updated'] },
          { limit: 10 }
        )
      ).filter((e) => e.actorKind === 'configuration')
    // Generated (not from the environment): the service API's values stay.
    assert.deepEqual(await sync([]), [])
    const consentUrl = async () =>
      ((await api.get(operatorId)).body as { idpConsentUrl: string | null }).idpConsentUrl
    assert.equal(await consentUrl(), changed.idpConsentUrl)
    assert.equal(await world.server.services.tenants.apiSecretOf(operatorId), changed.apiSecret)
    // Set in the environment: the configuration wins, and each override is reported.
    assert.deepEqual((await sync(['idpConsentUrl', 'idpSecret', 'apiSecret'])).sort(), [
      'apiSecret',
      'idpConsentUrl'
    ])
    assert.equal(await consentUrl(), config.identityServerUrl)
    assert.equal(await world.server.services.tenants.apiSecretOf(operatorId), config.adminApiSecret)
    // The override is in the audit trail, once, the configuration its actor; no secret's value.
    const [event, ...more] = await overrideEvents()
    assert.deepEqual(more, [])
    assert.equal(event!.actor, 'opas-host-1')
    assert.deepEqual((event!.details.fields as string[]).sort(), ['apiSecret', 'idpConsentUrl'])
    assert.ok(!JSON.stringify(event!.details).includes(config.adminApiSecret))
    assert.deepEqual(
      await sync(['idpConsentUrl', 'idpSecret', 'apiSecret']),
      [],
      'nothing left to override'
    )
    assert.equal((await overrideEvents()).length, 1, 'nothing changed: no second event')
  })
})

describe('SERVICE_API_SECRET', () => {
  let guarded: TestServer
  before(async () => {
    guarded = await startTestServer({
      SERVICE_API_SECRET: 'service-secret-of-32-characters-or-more'
    })
  })
  after(() => guarded.close())

  test('without the bearer token, or with another, 401 and nothing changes', async () => {
    const tenant = newTenant()
    for (const bearer of [undefined, 'wrong', 'service-secret-of-32-characters-or-mor']) {
      const res = await authServiceClient(guarded.serviceUrl, bearer).create(tenant)
      assertError(res, 401, 'unauthorized')
      assert.equal(res.headers.get('www-authenticate'), 'Bearer')
    }
    assert.equal(await guarded.services.tenants.show(tenant.id), undefined)
    const ok = authServiceClient(guarded.serviceUrl, guarded.env.SERVICE_API_SECRET)
    assert.equal((await ok.create(tenant)).status, 204)
    assert.equal((await ok.get(tenant.id)).status, 200)
  })
})

describe('two opas processes on one PostgreSQL database', () => {
  test(
    'a tenant deleted through one is refused by the other within a second',
    { skip: postgresOnly('processes share tenants through the database') },
    async () => {
      const other = await startPeerServer(world.server)
      after(() => other.close())
      const tenant = newTenant()
      assert.equal((await api.create(tenant)).status, 204)
      const grantUrl = `${other.services.config.authServerUrl}/${tenant.id}`
      const body = nonInteractiveGrantBody(world.app)
      // The other process has the tenant in its cache now.
      assert.equal((await signedRequest(grantUrl, { client: world.app, body })).status, 200)
      assert.equal((await api.delete(tenant.id, new Date())).status, 204)
      const deadline = Date.now() + 1_100
      for (;;) {
        const res = await signedRequest(grantUrl, { client: world.app, body })
        if (res.status === 404) break
        assert.equal(res.status, 200)
        assert.ok(Date.now() < deadline, 'still served more than a second after the deletion')
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  )
})
