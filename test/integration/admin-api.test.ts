import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { gql } from '@apollo/client/core/index.js'
import { adminClient, signedAdminPost } from '../helpers/admin-client.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { addTenant, deleteTenant } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  createGrantFlows,
  type GrantFlows,
  type IssuedToken,
  type PendingGrant
} from './support/grant-flows.js'

/**
 * The admin GraphQL API (ADMIN_PORT /graphql) driven as Rafiki's admin tools drive it: Apollo
 * Client, each request signed with the tenant's API secret over the JCS of its parsed body.
 */

let world: ServerWithClient
let tenantB: TestServer & { apiSecret: string }
let operatorFlows: GrantFlows
let bFlows: GrantFlows
let graphqlUrl: string
const alice = () => `${world.wallets.url}/alice`
const bob = () => `${world.wallets.url}/bob`

const operator = () =>
  adminClient({
    graphqlUrl,
    tenantId: world.server.tenantId,
    apiSecret: world.server.services.config.adminApiSecret
  })
const asB = () =>
  adminClient({ graphqlUrl, tenantId: tenantB.tenantId, apiSecret: tenantB.apiSecret })

/** Grants made in order (oldest first), with what the tests look for. */
const made: {
  id: string
  tenant: 'operator' | 'B'
  token?: IssuedToken
  pending?: PendingGrant
}[] = []

async function grantIdOf(flows: GrantFlows, token: IssuedToken) {
  return (await flows.introspect(token.value)).grant!
}

before(async () => {
  world = await startServerWithClient()
  graphqlUrl = `${world.server.adminUrl}/graphql`
  tenantB = await addTenant(world.server, {
    consentUrl: 'http://127.0.0.1:9/b/consent',
    secret: 'tenant-b-idp-secret-long-enough'
  })
  operatorFlows = createGrantFlows(world.server, world.app, alice())
  bFlows = createGrantFlows(tenantB, world.app, bob())
  for (let i = 0; i < 3; i++) {
    const { token } = await operatorFlows.requestNonInteractive()
    made.push({ id: await grantIdOf(operatorFlows, token), tenant: 'operator', token })
  }
  const pending = await operatorFlows.requestInteractive()
  const started = await operatorFlows.startInteraction(pending.redirect)
  made.push({ id: await operatorFlows.grantIdOf(started), tenant: 'operator', pending })
  for (let i = 0; i < 2; i++) {
    const { token } = await bFlows.requestNonInteractive()
    made.push({ id: await grantIdOf(bFlows, token), tenant: 'B', token })
  }
})
after(() => world.close())

const GRANTS = gql`
  query Grants(
    $after: String
    $before: String
    $first: Int
    $last: Int
    $filter: GrantFilter
    $sortOrder: SortOrder
    $tenantId: ID
  ) {
    grants(
      after: $after
      before: $before
      first: $first
      last: $last
      filter: $filter
      sortOrder: $sortOrder
      tenantId: $tenantId
    ) {
      pageInfo {
        startCursor
        endCursor
        hasNextPage
        hasPreviousPage
      }
      edges {
        cursor
        node {
          id
          client
          state
          finalizationReason
          createdAt
          tenantId
          access {
            id
            identifier
            type
            actions
            createdAt
            limits {
              receiver
              interval
              debitAmount {
                value
                assetCode
                assetScale
              }
            }
          }
          subject {
            sub_ids {
              id
              subId
              subIdFormat
              createdAt
            }
          }
        }
      }
    }
  }
`

interface Page {
  grants: {
    pageInfo: {
      startCursor: string | null
      endCursor: string | null
      hasNextPage: boolean
      hasPreviousPage: boolean
    }
    edges: {
      cursor: string
      node: { id: string; tenantId: string; state: string } & Record<string, unknown>
    }[]
  }
}

const ids = (page: Page) => page.grants.edges.map((e) => e.node.id)
const newestFirst = (tenant?: 'operator' | 'B') =>
  made
    .filter((g) => tenant === undefined || g.tenant === tenant)
    .map((g) => g.id)
    .reverse()

/** The grants of this test file only (other tests' grants live in other databases). */
async function page(client = operator(), variables: Record<string, unknown> = {}) {
  const res = await client.query<Page>(GRANTS, variables)
  assert.equal(res.errors, undefined, JSON.stringify(res.errors))
  return res.data
}

function codesOf(res: {
  errors?: readonly { extensions?: Record<string, unknown> }[]
  error?: unknown
}) {
  return (res.errors ?? []).map((e) => e.extensions?.code)
}

describe('grants: listing', () => {
  test('the operator sees every tenant, newest first, with each grant field for field', async () => {
    const all = await page()
    assert.deepEqual(ids(all), newestFirst())
    const node = all.grants.edges.at(-1)!.node
    assert.equal(node.client, world.app.walletAddress)
    assert.equal(node.tenantId, world.server.tenantId)
    assert.equal(node.state, 'FINALIZED')
    assert.equal(node.finalizationReason, 'ISSUED')
    assert.match(node.createdAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    const [access] = node.access as {
      id: string
      identifier: string | null
      type: string
      actions: string[]
    }[]
    assert.match(access!.id, /^[0-9a-f-]{36}$/)
    assert.equal(access!.type, 'incoming-payment')
    const pendingNode = all.grants.edges.find((e) => e.node.state === 'PENDING')!.node
    const limits = (
      pendingNode.access as { limits: { debitAmount: unknown; interval: string } }[]
    )[0]!.limits
    assert.deepEqual(limits.debitAmount, {
      value: '500',
      assetCode: 'USD',
      assetScale: 2,
      __typename: 'PaymentAmount'
    })
  })

  test('the operator narrows to one tenant with tenantId; a tenant sees only its own, whatever it passes', async () => {
    assert.deepEqual(ids(await page(operator(), { tenantId: tenantB.tenantId })), newestFirst('B'))
    assert.deepEqual(ids(await page(asB())), newestFirst('B'))
    assert.deepEqual(ids(await page(asB(), { tenantId: world.server.tenantId })), newestFirst('B'))
  })

  test('filters: identifier, state in and notIn, finalizationReason in and notIn', async () => {
    const pendingId = made.find((g) => g.pending)!.id
    const byIdentifier = await page(operator(), { filter: { identifier: { in: [alice()] } } })
    assert.deepEqual(ids(byIdentifier), [pendingId])
    assert.deepEqual(ids(await page(operator(), { filter: { state: { in: ['PENDING'] } } })), [
      pendingId
    ])
    assert.deepEqual(
      ids(await page(operator(), { filter: { state: { notIn: ['PENDING'] } } })),
      newestFirst().filter((id) => id !== pendingId)
    )
    assert.deepEqual(
      ids(await page(operator(), { filter: { finalizationReason: { in: ['ISSUED'] } } })),
      newestFirst().filter((id) => id !== pendingId)
    )
    // A grant not finalized has no reason: excluding ISSUED leaves it.
    assert.deepEqual(
      ids(await page(operator(), { filter: { finalizationReason: { notIn: ['ISSUED'] } } })),
      [pendingId]
    )
  })

  test('Relay paging: first/after forward, last/before back, exact pageInfo, ASC order', async () => {
    const all = newestFirst()
    const one = await page(operator(), { first: 2 })
    assert.deepEqual(ids(one), all.slice(0, 2))
    assert.deepEqual(one.grants.pageInfo, {
      startCursor: all[0],
      endCursor: all[1],
      hasNextPage: true,
      hasPreviousPage: false,
      __typename: 'PageInfo'
    })
    const two = await page(operator(), { first: 2, after: one.grants.pageInfo.endCursor })
    assert.deepEqual(ids(two), all.slice(2, 4))
    assert.equal(two.grants.pageInfo.hasPreviousPage, true)
    const back = await page(operator(), { last: 2, before: two.grants.pageInfo.startCursor })
    assert.deepEqual(ids(back), all.slice(0, 2))
    const end = await page(operator(), { first: 100, after: all[all.length - 2] })
    assert.deepEqual(ids(end), all.slice(-1))
    assert.equal(end.grants.pageInfo.hasNextPage, false)
    const empty = await page(operator(), { after: all.at(-1) })
    assert.deepEqual(empty.grants, {
      edges: [],
      pageInfo: {
        startCursor: null,
        endCursor: null,
        hasNextPage: false,
        hasPreviousPage: false,
        __typename: 'PageInfo'
      },
      __typename: 'GrantsConnection'
    })
    assert.deepEqual(ids(await page(operator(), { sortOrder: 'ASC' })), [...all].reverse())
  })

  test('bad paging arguments are BAD_USER_INPUT', async () => {
    for (const variables of [
      { last: 2 },
      { first: 101 },
      { first: -1 },
      { after: 'not-a-grant-id' },
      { tenantId: 'not-a-tenant' }
    ]) {
      const res = await operator().query(GRANTS, variables)
      assert.deepEqual(codesOf(res), ['BAD_USER_INPUT'], JSON.stringify(variables))
    }
  })
})

const GRANT = gql`
  query Grant($id: ID!) {
    grant(id: $id) {
      id
      state
      finalizationReason
      tenantId
      client
    }
  }
`
const REVOKE = gql`
  mutation Revoke($input: RevokeGrantInput!) {
    revokeGrant(input: $input) {
      id
    }
  }
`

describe('grant and revokeGrant', () => {
  test("an unknown, malformed or another tenant's grant is NOT_FOUND", async () => {
    const operatorGrant = made.find((g) => g.tenant === 'operator')!.id
    for (const [client, id] of [
      [operator(), randomUUID()],
      [operator(), 'nope'],
      [asB(), operatorGrant]
    ] as const) {
      const res = await client.query(GRANT, { id })
      assert.deepEqual(codesOf(res), ['NOT_FOUND'], id)
    }
    const own = await asB().query<{ grant: { id: string } }>(GRANT, {
      id: made.find((g) => g.tenant === 'B')!.id
    })
    assert.equal(own.errors, undefined)
  })

  test('revoking: the grant FINALIZED/REVOKED and its token inactive, in one step; a repeat answers the same id', async () => {
    const target = made.find((g) => g.tenant === 'B' && g.token)!
    assert.equal((await bFlows.introspect(target.token!.value)).active, true)
    const res = await asB().mutate<{ revokeGrant: { id: string } }>(REVOKE, {
      input: { grantId: target.id }
    })
    assert.equal(res.errors, undefined, JSON.stringify(res.errors))
    assert.equal(res.data!.revokeGrant.id, target.id)
    const after = await asB().query<{ grant: { state: string; finalizationReason: string } }>(
      GRANT,
      { id: target.id }
    )
    assert.deepEqual(
      [after.data!.grant.state, after.data!.grant.finalizationReason],
      ['FINALIZED', 'REVOKED']
    )
    assert.deepEqual(await bFlows.introspect(target.token!.value), { active: false })
    const again = await asB().mutate<{ revokeGrant: { id: string } }>(REVOKE, {
      input: { grantId: target.id }
    })
    assert.equal(again.data!.revokeGrant.id, target.id)
  })

  test("an empty id is FORBIDDEN; another tenant's grant is NOT_FOUND and stays as it was", async () => {
    assert.deepEqual(codesOf(await operator().mutate(REVOKE, { input: { grantId: '' } })), [
      'FORBIDDEN'
    ])
    const target = made.find((g) => g.tenant === 'operator' && g.token)!
    const res = await asB().mutate(REVOKE, { input: { grantId: target.id } })
    assert.deepEqual(codesOf(res), ['NOT_FOUND'])
    assert.equal((await operatorFlows.introspect(target.token!.value)).active, true)
  })
})

describe('authentication', () => {
  const body = { query: '{ grants { edges { cursor } } }', variables: {}, operationName: null }
  const creds = () => ({
    tenantId: world.server.tenantId,
    apiSecret: world.server.services.config.adminApiSecret
  })

  async function assertRefused(res: Response, why: string) {
    assert.equal(res.status, 401, why)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, why)
    const json = (await res.json()) as { errors: { extensions: { code: string } }[] }
    assert.equal(json.errors[0]!.extensions.code, 'UNAUTHENTICATED', why)
  }

  test('a body serialised otherwise than signed (key order, spaces) is accepted', async () => {
    const raw = `{ "query" : ${JSON.stringify(body.query)},\n  "operationName": null, "variables": {} }`
    const res = await signedAdminPost(graphqlUrl, creds(), body, raw)
    assert.equal(res.status, 200, await res.clone().text())
  })

  test('a timestamp in seconds is accepted too', async () => {
    const res = await signedAdminPost(
      graphqlUrl,
      { ...creds(), timestamp: Math.floor(Date.now() / 1000) },
      body
    )
    assert.equal(res.status, 200)
  })

  test('refused: no headers, another secret, another version, expired, ahead, another tenant, a replay', async () => {
    await assertRefused(
      await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body)
      }),
      'no headers'
    )
    await assertRefused(
      await signedAdminPost(graphqlUrl, { ...creds(), apiSecret: 'wrong' }, body),
      'secret'
    )
    await assertRefused(
      await signedAdminPost(graphqlUrl, { ...creds(), version: 2 }, body),
      'version'
    )
    await assertRefused(
      await signedAdminPost(graphqlUrl, { ...creds(), timestamp: Date.now() - 31_000 }, body),
      'expired'
    )
    await assertRefused(
      await signedAdminPost(graphqlUrl, { ...creds(), timestamp: Date.now() + 60_000 }, body),
      'ahead'
    )
    await assertRefused(
      await signedAdminPost(graphqlUrl, { ...creds(), tenantId: tenantB.tenantId }, body),
      "another tenant's id with the operator's secret"
    )
    const timestamp = Date.now()
    assert.equal((await signedAdminPost(graphqlUrl, { ...creds(), timestamp }, body)).status, 200)
    await assertRefused(
      await signedAdminPost(graphqlUrl, { ...creds(), timestamp }, body),
      'replay'
    )
  })

  test('a signature over another body is refused and the mutation does not run', async () => {
    const target = made.find((g) => g.tenant === 'operator' && g.token)!
    const mutation = {
      query: `mutation { revokeGrant(input: { grantId: "${target.id}" }) { id } }`
    }
    const res = await signedAdminPost(graphqlUrl, creds(), body, JSON.stringify(mutation))
    await assertRefused(res, 'tampered body')
    assert.equal((await operatorFlows.introspect(target.token!.value)).active, true)
  })

  test('a body nested deeper than 64 levels is refused before it is canonicalised', async () => {
    let variables: unknown = 1
    for (let i = 0; i < 100; i++) variables = { a: variables }
    const res = await signedAdminPost(graphqlUrl, creds(), { ...body, variables })
    await assertRefused(res, 'too deep')
  })

  test('a deleted tenant cannot sign in', async () => {
    const doomed = await addTenant(world.server, {
      consentUrl: 'http://127.0.0.1:9/c',
      secret: 'tenant-c-idp-secret-long-enough'
    })
    const client = { tenantId: doomed.tenantId, apiSecret: doomed.apiSecret }
    assert.equal((await signedAdminPost(graphqlUrl, client, body)).status, 200)
    await deleteTenant(world.server, doomed.tenantId)
    await assertRefused(await signedAdminPost(graphqlUrl, client, body), 'deleted tenant')
  })
})

describe('query limits and errors', () => {
  const creds = () => ({
    tenantId: world.server.tenantId,
    apiSecret: world.server.services.config.adminApiSecret
  })
  const post = async (query: string) => {
    const payload = { query }
    const res = await signedAdminPost(graphqlUrl, creds(), payload)
    return {
      status: res.status,
      json: (await res.json()) as { errors?: { extensions: { code: string } }[]; data?: unknown }
    }
  }

  test('a syntax error is GRAPHQL_PARSE_FAILED, an unknown field GRAPHQL_VALIDATION_FAILED (400)', async () => {
    const parse = await post('{ grants { ')
    assert.equal(parse.status, 400)
    assert.equal(parse.json.errors![0]!.extensions.code, 'GRAPHQL_PARSE_FAILED')
    const unknown = await post('{ tokens { id } }')
    assert.equal(unknown.status, 400)
    assert.equal(unknown.json.errors![0]!.extensions.code, 'GRAPHQL_VALIDATION_FAILED')
  })

  test('a query over the cost limit is refused before it runs', async () => {
    const one =
      'edges { node { access { limits { debitAmount { value assetCode assetScale } } } } }'
    const aliases = Array.from({ length: 60 }, (_, i) => `g${i}: grants(first: 100) { ${one} }`)
    const res = await post(`{ ${aliases.join(' ')} }`)
    assert.equal(res.status, 400)
    assert.equal(res.json.errors![0]!.extensions.code, 'GRAPHQL_VALIDATION_FAILED')
  })

  test('introspection works outside production and is refused in production', async () => {
    const dev = await post('{ __schema { queryType { name } } }')
    assert.equal(dev.status, 200)
    const production = await startTestServer({
      NODE_ENV: 'production',
      ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION: 'true',
      CONSENT_SCREEN: 'builtin'
    })
    after(() => production.close())
    const res = await signedAdminPost(
      `${production.adminUrl}/graphql`,
      { tenantId: production.tenantId, apiSecret: production.services.config.adminApiSecret },
      { query: '{ __schema { queryType { name } } }' }
    )
    assert.equal(res.status, 400)
    const json = (await res.json()) as { errors: { extensions: { code: string } }[] }
    assert.equal(json.errors[0]!.extensions.code, 'GRAPHQL_VALIDATION_FAILED')
  })

  test('a request that is not GraphQL over HTTP is a 400 with GraphQL errors', async () => {
    const res = await signedAdminPost(graphqlUrl, creds(), { nope: true })
    assert.equal(res.status, 400)
    const json = (await res.json()) as { errors: { extensions: { code: string } }[] }
    assert.equal(json.errors[0]!.extensions.code, 'BAD_REQUEST')
  })
})

// Last: it adds a tenant and a grant the listing tests above do not expect.
describe('tenant isolation', () => {
  test("tenant isolation both ways: neither of two tenants sees or reads the other's grants", async () => {
    const c = await addTenant(world.server, {
      consentUrl: 'http://127.0.0.1:9/c/consent',
      secret: 'tenant-c-idp-secret-long-enough'
    })
    const asC = adminClient({ graphqlUrl, tenantId: c.tenantId, apiSecret: c.apiSecret })
    const cFlows = createGrantFlows(c, world.app, bob())
    const { token } = await cFlows.requestNonInteractive()
    const cGrant = await grantIdOf(cFlows, token)
    assert.deepEqual(ids(await page(asC)), [cGrant])
    assert.deepEqual(ids(await page(asC, { tenantId: tenantB.tenantId })), [cGrant])
    assert.ok(!ids(await page(asB())).includes(cGrant))
    const bGrant = made.find((g) => g.tenant === 'B')!.id
    assert.deepEqual(codesOf(await asC.query(GRANT, { id: bGrant })), ['NOT_FOUND'])
    assert.deepEqual(codesOf(await asB().query(GRANT, { id: cGrant })), ['NOT_FOUND'])
    assert.deepEqual(codesOf(await asC.mutate(REVOKE, { input: { grantId: bGrant } })), [
      'NOT_FOUND'
    ])
    // The operator sees both.
    const all = ids(await page())
    assert.ok(all.includes(cGrant) && all.includes(bGrant))
  })
})
