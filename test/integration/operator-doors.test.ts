import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { cliCall } from '../../src/cli/operator-commands.js'
import { optionProblem } from '../../src/cli/tenant-commands.js'
import { scopeOf } from '../../src/grant/grant-operations.js'
import { adminCall } from '../helpers/admin-client.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { addTenant, authServiceClient } from '../helpers/tenants.js'
import type { TestServer } from '../helpers/test-server.js'
import { createGrantFlows } from './support/grant-flows.js'

/*
 * One operator service per domain, many doors (issue 27, point 1): the scope a door's caller
 * gets is the grant service's to apply (a tenant reaches its own grants through the admin API,
 * the CLI every tenant's), and a tenant the rules refuse is refused alike through the service
 * API and the CLI, each wording the same problem.
 */

let world: ServerWithClient
let tenantB: TestServer & { apiSecret: string }
let operatorGrant: string
let bGrant: string

before(async () => {
  world = await startServerWithClient()
  tenantB = await addTenant(world.server, {
    consentUrl: 'http://127.0.0.1:9/b/consent',
    secret: 'tenant-b-idp-secret-long-enough'
  })
  const issued = async (server: TestServer) => {
    const flows = createGrantFlows(server, world.app, `${world.wallets.url}/alice`)
    const { token } = await flows.requestNonInteractive()
    return (await flows.introspect(token.value)).grant!
  }
  operatorGrant = await issued(world.server)
  bGrant = await issued(tenantB)
})
after(() => world?.close())

const REVOKE = `mutation Revoke($input: RevokeGrantInput!) { revokeGrant(input: $input) { id } }`
const GRANT = `query Grant($id: ID!) { grant(id: $id) { id tenantId } }`

const reasonOf = async (grantId: string) =>
  (await world.server.services.grantOperations.find(cliCall(world.server.services), grantId))
    ?.finalizationReason

test("a tenant cannot read or revoke another tenant's grant through the admin API", async () => {
  const asB = { id: tenantB.tenantId, apiSecret: tenantB.apiSecret }
  const graphql = `${world.server.adminUrl}/graphql`
  const read = await adminCall(graphql, asB, { query: GRANT, variables: { id: operatorGrant } })
  const errors = (read.body as { errors?: { extensions: { code: string } }[] }).errors
  assert.equal(errors?.[0]?.extensions.code, 'NOT_FOUND')
  const revoked = await adminCall(graphql, asB, {
    query: REVOKE,
    variables: { input: { grantId: operatorGrant } }
  })
  assert.match(JSON.stringify(revoked.body), /Revoke grant was not successful/)
  assert.equal(await reasonOf(operatorGrant), 'ISSUED')
  const own = await adminCall(graphql, asB, { query: GRANT, variables: { id: bGrant } })
  assert.deepEqual(own.body, { data: { grant: { id: bGrant, tenantId: tenantB.tenantId } } })
})

test("a tenant's call to the grant service reaches its own grants alone; the CLI's every tenant's", async () => {
  const grants = world.server.services.grantOperations
  const bCall = {
    actor: { kind: 'admin-api' as const, tenantId: tenantB.tenantId },
    scope: scopeOf({ tenantId: tenantB.tenantId, isOperator: false }),
    log: world.server.services.logger
  }
  assert.equal(await grants.read(bCall, operatorGrant), undefined)
  assert.equal(await grants.revoke(bCall, operatorGrant), undefined)
  assert.equal((await grants.read(bCall, bGrant))?.grant.id, bGrant)
  const cli = cliCall(world.server.services)
  assert.equal(cli.scope, 'all')
  for (const grantId of [operatorGrant, bGrant]) {
    assert.equal((await grants.read(cli, grantId))?.grant.id, grantId)
  }
  const listed = (await grants.list(cli, {}, { limit: 100 })).map((g) => g.tenantId)
  assert.ok(listed.includes(world.server.tenantId) && listed.includes(tenantB.tenantId))
})

test('a tenant the rules refuse is refused alike through the service API and the CLI', async () => {
  const api = authServiceClient(world.server.serviceUrl)
  const short = 'x'.repeat(19)
  const cases: { body: Record<string, unknown>; field: string; option: string }[] = [
    { body: { id: 'nope', apiSecret: `${short}xx` }, field: 'id', option: '--id' },
    { body: { apiSecret: short }, field: 'apiSecret', option: '--api-secret' },
    {
      body: { idpConsentUrl: 'ftp://idp.example' },
      field: 'idpConsentUrl',
      option: '--idp-consent-url'
    },
    { body: { idpSecret: short }, field: 'idpSecret', option: '--idp-secret' }
  ]
  for (const { body, field, option } of cases) {
    const input = { id: randomUUID(), ...body }
    const res = await api.create(input as never)
    assert.equal(res.status, 400, JSON.stringify(body))
    const { description } = (res.body as { error: { description: string } }).error
    // The CLI's own path: the tenant service with the shell's call, its refusal worded.
    const created = await world.server.services.tenantOperations.create(
      cliCall(world.server.services),
      input as never
    )
    assert.equal(created.outcome, 'invalid')
    const cliMessage = created.outcome === 'invalid' ? optionProblem(created.problem) : ''
    assert.equal(cliMessage, description.replace(field, option))
    assert.equal((await api.get(input.id)).status, 404, 'nothing created')
  }
})
