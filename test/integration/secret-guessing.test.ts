import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { apiSignatureHeader } from '../../src/tenant/api-signature.js'
import { addTenant } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/**
 * Guessing a tenant's API secret (issue 24, points 4 and 5): every try, through the admin API's
 * signature or the console's sign-in, is counted before it is checked, against a budget per
 * tenant and address and one per address; tries sent at once cannot outrun it, and one address
 * locks no tenant out for the others. Requests are injected with their client address.
 */

const PER_TENANT = 10
const PER_ADDRESS = 25
let server: TestServer
let tenant: TestServer & { apiSecret: string }

before(async () => {
  server = await startTestServer({
    SECRET_ATTEMPTS_PER_TENANT: String(PER_TENANT),
    SECRET_ATTEMPTS_PER_ADDRESS: String(PER_ADDRESS)
  })
  tenant = await addTenant(server, {
    consentUrl: 'http://127.0.0.1:9/consent',
    secret: 'guessing-test-idp-secret'
  })
})
after(() => server.close())

const query = { query: '{ grants(first: 1) { edges { node { id } } } }' }
let clock = Date.now()

/** A POST /graphql from `address`, signed with `secret` for `tenantId` (a fresh timestamp each). */
function graphql(address: string, tenantId: string, secret: string) {
  return server.apps.admin.inject({
    method: 'POST',
    url: '/graphql',
    remoteAddress: address,
    headers: {
      'content-type': 'application/json',
      'tenant-id': tenantId,
      signature: apiSignatureHeader(secret, 1, query, ++clock)
    },
    payload: JSON.stringify(query)
  })
}

/** A console sign-in from `address`: the form fetched first, then posted. */
async function signIn(address: string, tenantId: string, apiSecret: string) {
  const admin = server.apps.admin
  const page = await admin.inject({ method: 'GET', url: '/', remoteAddress: address })
  return async () =>
    admin.inject({
      method: 'POST',
      url: '/sign-in',
      remoteAddress: address,
      headers: {
        cookie: [page.headers['set-cookie']].flat()[0]!.split(';')[0]!,
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded'
      },
      payload: new URLSearchParams({
        csrf: /name="csrf" value="([^"]+)"/.exec(page.body)![1]!,
        tenantId,
        apiSecret
      }).toString()
    })
}

const statuses = (answers: LightMyRequestResponse[]) =>
  answers.reduce<Record<number, number>>(
    (n, a) => ({ ...n, [a.statusCode]: (n[a.statusCode] ?? 0) + 1 }),
    {}
  )

function assertThrottledGraphql(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 429, res.body)
  assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After')
  const body = res.json<{ errors: { message: string; extensions: { code: string } }[] }>()
  assert.equal(body.errors[0]?.extensions.code, 'TOO_MANY_REQUESTS')
  assert.match(body.errors[0]!.message, /too many failed signatures/)
}

describe('the admin API', () => {
  test('of 30 wrong signatures sent at once, exactly the budget are checked (401), the rest get 429', async () => {
    const address = '203.0.113.10'
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => graphql(address, tenant.tenantId, `wrong-secret-${i}`))
    )
    assert.deepEqual(statuses(answers), { 401: PER_TENANT, 429: 30 - PER_TENANT })
    for (const res of answers.filter((a) => a.statusCode === 429)) assertThrottledGraphql(res)
    // Even the right secret waits at this address, so a 429 tells a guesser nothing…
    assertThrottledGraphql(await graphql(address, tenant.tenantId, tenant.apiSecret))
    // …while the tenant goes on from any other address, and this address at other tenants.
    assert.equal(
      (await graphql('198.51.100.20', tenant.tenantId, tenant.apiSecret)).statusCode,
      200
    )
    const operatorSecret = server.services.config.adminApiSecret
    assert.equal((await graphql(address, server.tenantId, operatorSecret)).statusCode, 200)
  })

  test('one address has one budget across tenants, unknown ones included', async () => {
    const address = '203.0.113.11'
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => graphql(address, randomUUID(), 'wrong-secret'))
    )
    assert.deepEqual(statuses(answers), { 401: PER_ADDRESS, 429: 30 - PER_ADDRESS })
    assertThrottledGraphql(await graphql(address, tenant.tenantId, tenant.apiSecret))
  })

  test('a right signature gives its try back: a busy tenant is never throttled', async () => {
    for (let i = 0; i < 3 * PER_ADDRESS; i++) {
      const res = await graphql('203.0.113.12', tenant.tenantId, tenant.apiSecret)
      assert.equal(res.statusCode, 200, res.body)
    }
  })

  test('right signatures sent at once, past the budget, are all served (an operator tool)', async () => {
    const address = '203.0.113.13'
    // A tenant no request has read yet: the first burst waits on the database together.
    const fresh = await addTenant(server, {
      consentUrl: 'http://127.0.0.1:9/consent',
      secret: 'burst-test-idp-secret-long'
    })
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(
        Array.from({ length: 3 * PER_TENANT }, () =>
          graphql(address, fresh.tenantId, fresh.apiSecret)
        )
      )
      assert.deepEqual(statuses(answers), { 200: 3 * PER_TENANT })
    }
  })

  test('a missing or malformed signature tests no secret and is not counted', async () => {
    const address = '203.0.113.14'
    for (let i = 0; i < 2 * PER_TENANT; i++) {
      const res = await server.apps.admin.inject({
        method: 'POST',
        url: '/graphql',
        remoteAddress: address,
        headers: {
          'content-type': 'application/json',
          'tenant-id': tenant.tenantId,
          signature: 'x'
        },
        payload: JSON.stringify(query)
      })
      assert.equal(res.statusCode, 401)
    }
    assert.equal((await graphql(address, tenant.tenantId, tenant.apiSecret)).statusCode, 200)
  })
})

describe('the console sign-in', () => {
  test('of 30 wrong secrets sent at once, exactly the budget are checked (401), the rest get 429', async () => {
    const address = '203.0.113.20'
    // A tenant no request has read yet: each check waits for the database, as it does after the
    // tenant cache's second, which is where counting after the check let every try through.
    const fresh = await addTenant(server, {
      consentUrl: 'http://127.0.0.1:9/consent',
      secret: 'guessing-test-idp-secret'
    })
    const posts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => signIn(address, fresh.tenantId, `wrong-secret-${i}`))
    )
    const answers = await Promise.all(posts.map((post) => post()))
    assert.deepEqual(statuses(answers), { 401: PER_TENANT, 429: 30 - PER_TENANT })
    for (const res of answers.filter((a) => a.statusCode === 429)) {
      assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After')
      assert.match(res.body, /Too many failed attempts from this address/)
    }
    const right = await (await signIn(address, fresh.tenantId, fresh.apiSecret))()
    assert.equal(right.statusCode, 429, 'the right secret waits too')
    assert.ok(!String(right.headers['set-cookie'] ?? '').includes('opas_console='))
    const elsewhere = await (await signIn('198.51.100.21', fresh.tenantId, fresh.apiSecret))()
    assert.equal(elsewhere.statusCode, 303, 'another address signs in')
  })

  test('one secret, two doors: tries at the console and the admin API share the budget', async () => {
    const address = '203.0.113.21'
    for (let i = 0; i < PER_TENANT; i++) {
      const res = await (await signIn(address, tenant.tenantId, `wrong-secret-${i}`))()
      assert.equal(res.statusCode, 401)
    }
    assertThrottledGraphql(await graphql(address, tenant.tenantId, tenant.apiSecret))
  })

  test('a right secret gives its try back', async () => {
    const address = '203.0.113.22'
    for (let i = 0; i < 2 * PER_TENANT; i++) {
      const res = await (await signIn(address, tenant.tenantId, tenant.apiSecret))()
      assert.equal(res.statusCode, 303)
    }
  })
})
