import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { AuditEvent } from '../../src/audit/events.js'
import { consoleClient } from '../helpers/console-client.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/**
 * The console's sign-ins, refusals and sign-outs in the audit trail (issue 27): who, which
 * tenant, from which address, by which request; a throttled try writes nothing.
 */

let server: TestServer
before(async () => {
  server = await startTestServer({
    SECRET_ATTEMPTS_PER_TENANT: '3',
    SECRET_ATTEMPTS_PER_ADDRESS: '1000'
  })
})
after(() => server.close())

const consoleEvents = (tenantId?: string): Promise<AuditEvent[]> =>
  server.services.events.list(
    {
      typeIn: ['console.signed_in', 'console.sign_in_refused', 'console.signed_out'],
      ...(tenantId ? { tenantId } : {})
    },
    { limit: 200 }
  )

test('a sign-in and a sign-out are events of the tenant, with where they came from', async () => {
  const browser = consoleClient(server.adminUrl)
  const signedIn = await browser.signIn(server.tenantId.toUpperCase(), server.env.ADMIN_API_SECRET!)
  assert.equal(signedIn.status, 303, signedIn.text)
  const out = await browser.post('/sign-out', { csrf: await browser.formToken() })
  assert.equal(out.status, 303, out.text)
  const [signedOut, opened] = await consoleEvents(server.tenantId)
  assert.ok(opened && signedOut)
  assert.equal(opened.type, 'console.signed_in')
  assert.equal(signedOut.type, 'console.signed_out')
  for (const event of [opened, signedOut]) {
    assert.equal(event.tenantId, server.tenantId)
    assert.equal(event.actorKind, 'console')
    assert.equal(event.actor, server.tenantId)
    assert.match(event.remoteAddress ?? '', /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/)
    assert.ok(event.requestId)
    assert.deepEqual(event.details, {})
  }
  assert.notEqual(opened.requestId, signedOut.requestId)
  // A sign-out with no session (its cookie gone) is refused before it reaches the sessions: no event.
  await browser.post('/sign-out', { csrf: 'stale' })
  assert.equal((await consoleEvents(server.tenantId)).length, 2)
})

test('a refused secret is an event under the id tried; a throttled try is none', async () => {
  const tenant = randomUUID()
  const browser = consoleClient(server.adminUrl)
  for (let i = 0; i < 3; i++) {
    assert.equal((await browser.signIn(tenant, 'not-the-secret-of-this-tenant')).status, 401)
  }
  assert.equal((await browser.signIn(tenant, 'not-the-secret-of-this-tenant')).status, 429)
  const refused = await consoleEvents(tenant)
  assert.equal(refused.length, 3, 'three refusals, no event for the throttled try')
  for (const event of refused) {
    assert.equal(event.type, 'console.sign_in_refused')
    assert.equal(event.actorKind, 'console')
    assert.equal(event.actor, tenant)
  }
  // An id that is no tenant's, nor a UUID: refused under no tenant, its text not stored.
  assert.equal((await browser.signIn('<script>', 'whatever-it-is')).status, 401)
  const [last] = await consoleEvents()
  assert.equal(last?.type, 'console.sign_in_refused')
  assert.equal(last?.tenantId, null)
  assert.equal(last?.actor, null)
  assert.doesNotMatch(JSON.stringify(last), /script|whatever/)
})
