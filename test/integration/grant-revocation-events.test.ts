import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { AuditEvent } from '../../src/audit/events.js'
import { adminCall } from '../helpers/admin-client.js'
import { consoleClient } from '../helpers/console-client.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { createGrantFlows, type GrantFlows } from './support/grant-flows.js'

/**
 * A grant's revocation in the audit trail (issue 27): by its client cancelling it (RFC 9635
 * §5.4), through the admin API, or at the console; who, from where, once (a grant revoked
 * before writes nothing more).
 */

let world: ServerWithClient
let flows: GrantFlows
before(async () => {
  world = await startServerWithClient({ SECRET_ATTEMPTS_PER_ADDRESS: '1000' })
  flows = createGrantFlows(world.server, world.app, `${world.wallets.url}/alice`)
})
after(() => world.close())

const revocations = (grantId: string): Promise<AuditEvent[]> =>
  world.server.services.events.list({ grantId, typeIn: ['grant.revoked'] }, { limit: 10 })

async function issuedGrantId(): Promise<string> {
  const { token } = await flows.requestNonInteractive()
  return (await flows.introspect(token.value)).grant!
}

const REVOKE = `mutation Revoke($input: RevokeGrantInput!) { revokeGrant(input: $input) { id } }`

test('the client cancelling its grant: the client is the actor, with the grant and tenant', async () => {
  const pending = await flows.requestInteractive()
  assert.equal((await flows.cancelGrant(pending)).status, 204)
  const [event] = await world.server.services.events.list(
    { walletAddress: world.app.walletAddress, typeIn: ['grant.revoked'] },
    { limit: 1 }
  )
  assert.ok(event)
  assert.equal(event.actorKind, 'client')
  assert.equal(event.actor, world.app.walletAddress)
  assert.equal(event.client, world.app.walletAddress)
  assert.equal(event.tenantId, world.server.tenantId)
  assert.ok(event.grantId && event.requestId && event.remoteAddress)
})

test('an operator through the admin API, then again: one event, the tenant its actor', async () => {
  const grantId = await issuedGrantId()
  const operator = { id: world.server.tenantId, apiSecret: world.server.env.ADMIN_API_SECRET! }
  for (let i = 0; i < 2; i++) {
    const res = await adminCall(`${world.server.adminUrl}/graphql`, operator, {
      query: REVOKE,
      variables: { input: { grantId } }
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
  }
  const events = await revocations(grantId)
  assert.equal(events.length, 1, 'the second revocation changed nothing')
  assert.equal(events[0]!.actorKind, 'admin-api')
  assert.equal(events[0]!.actor, world.server.tenantId)
  assert.equal(events[0]!.client, world.app.walletAddress)
  assert.ok(events[0]!.requestId)
})

test('an operator at the console: the console tenant is the actor', async () => {
  const grantId = await issuedGrantId()
  const browser = consoleClient(world.server.adminUrl)
  assert.equal(
    (await browser.signIn(world.server.tenantId, world.server.env.ADMIN_API_SECRET!)).status,
    303
  )
  const revoked = await browser.post(`/grants/${grantId}/revoke`, {
    csrf: await browser.formToken()
  })
  assert.equal(revoked.status, 303, revoked.text)
  const [event] = await revocations(grantId)
  assert.equal(event?.actorKind, 'console')
  assert.equal(event?.actor, world.server.tenantId)
})
