import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { AuditEvent } from '../../src/audit/events.js'
import { createTenantDirectory } from '../../src/tenant/tenant-directory.js'
import { createSecretBox } from '../../src/tenant/secret-box.js'
import { consoleClient } from '../helpers/console-client.js'
import { openTestDb } from '../helpers/store-test.js'
import { authServiceClient } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/**
 * A tenant's creation, changes and deletion in the audit trail (issue 27), whichever surface
 * made them: who, from where, which fields (never a secret's value); a refused change writes
 * nothing, and a change whose event cannot be written is not made.
 */

let server: TestServer
before(async () => {
  server = await startTestServer({ SECRET_ATTEMPTS_PER_ADDRESS: '1000' })
})
after(() => server.close())

const trail = (tenantId: string): Promise<AuditEvent[]> =>
  server.services.events.list(
    { tenantId, typeIn: ['tenant.created', 'tenant.updated', 'tenant.deleted'] },
    { limit: 50 }
  )

const SECRETS = [
  'first-api-secret-of-this-tenant',
  'idp-secret-long-enough',
  'another-api-secret-for-it'
]

function assertNoSecret(events: AuditEvent[]): void {
  const text = JSON.stringify(events)
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} is in the trail`)
}

describe('through the service API (Rafiki’s backend)', () => {
  test('created, updated and deleted: the fields named, the consent URL kept, no secret', async () => {
    const service = authServiceClient(server.serviceUrl)
    const id = randomUUID()
    const created = await service.create({
      id,
      apiSecret: SECRETS[0]!,
      idpConsentUrl: 'https://idp.example/consent',
      idpSecret: SECRETS[1]!
    })
    assert.equal(created.status, 204)
    assert.equal(
      (
        await service.update(id, {
          idpConsentUrl: 'https://idp2.example/consent',
          apiSecret: SECRETS[2]!
        })
      ).status,
      204
    )
    assert.equal((await service.delete(id, new Date())).status, 204)
    const [deleted, updated, made] = await trail(id)
    assert.deepEqual(
      [made?.type, updated?.type, deleted?.type],
      ['tenant.created', 'tenant.updated', 'tenant.deleted']
    )
    assert.deepEqual(made!.details, {
      fields: ['apiSecret', 'idpConsentUrl', 'idpSecret'],
      idpConsentUrl: 'https://idp.example/consent'
    })
    assert.deepEqual(updated!.details, {
      fields: ['apiSecret', 'idpConsentUrl'],
      idpConsentUrl: 'https://idp2.example/consent'
    })
    assert.deepEqual(deleted!.details, {})
    for (const event of [made!, updated!, deleted!]) {
      assert.equal(event.actorKind, 'service-api')
      assert.equal(event.actor, null)
      assert.ok(event.requestId)
      assert.ok(event.remoteAddress)
    }
    assertNoSecret([made!, updated!, deleted!])
  })

  test('a refused change writes nothing: invalid, taken, unknown', async () => {
    const service = authServiceClient(server.serviceUrl)
    const id = randomUUID()
    assert.equal((await service.create({ id, apiSecret: 'short' })).status, 400)
    assert.equal((await service.update(id, { idpConsentUrl: 'https://idp.example/x' })).status, 404)
    assert.equal((await service.delete(id, new Date())).status, 404)
    assert.deepEqual(await trail(id), [])
    assert.equal((await service.create({ id, apiSecret: SECRETS[0]! })).status, 204)
    assert.equal((await service.create({ id, apiSecret: SECRETS[0]! })).status, 409)
    assert.equal((await service.update(id, { idpConsentUrl: 'ftp://x' })).status, 400)
    assert.deepEqual(
      (await trail(id)).map((e) => e.type),
      ['tenant.created']
    )
  })
})

test('through the console: the operator tenant at the console is the actor; a generated secret is said so', async () => {
  const browser = consoleClient(server.adminUrl)
  assert.equal((await browser.signIn(server.tenantId, server.env.ADMIN_API_SECRET!)).status, 303)
  const csrf = await browser.formToken()
  const id = randomUUID()
  assert.equal(
    (await browser.post('/tenants', { csrf, id, idpConsentUrl: 'https://idp.example/consent' }))
      .status,
    201
  )
  assert.equal(
    (
      await browser.post(`/tenants/${id}`, {
        csrf,
        idpConsentUrl: 'https://idp.example/consent',
        idpSecretChange: 'set',
        idpSecret: SECRETS[1]!
      })
    ).status,
    303
  )
  assert.equal((await browser.post(`/tenants/${id}/delete`, { csrf })).status, 303)
  const [deleted, updated, made] = await trail(id)
  assert.deepEqual(made?.details, {
    fields: ['apiSecret', 'idpConsentUrl'],
    idpConsentUrl: 'https://idp.example/consent',
    apiSecret: 'generated'
  })
  assert.ok(updated?.details.fields && (updated.details.fields as string[]).includes('idpSecret'))
  assert.equal(deleted?.type, 'tenant.deleted')
  for (const event of [made!, updated!, deleted!]) {
    assert.equal(event.actorKind, 'console')
    assert.equal(event.actor, server.tenantId)
  }
  assertNoSecret([made!, updated!, deleted!])
})

test('a change whose event cannot be written is not made: one transaction', async () => {
  const { db, close } = await openTestDb()
  try {
    const failing = createTenantDirectory({
      db,
      events: {
        record: async (tx) => {
          // The change's own statement ran first, in this transaction; then the event fails.
          await tx.query('select 1')
          throw new Error('the audit trail is unavailable')
        }
      },
      ttlMs: 1000,
      secrets: createSecretBox('a-tenant-secrets-key-for-this-test-only-32+')
    })
    const id = randomUUID()
    const from = { actor: { kind: 'service-api' } } as const
    await assert.rejects(
      failing.create(id, { apiSecret: SECRETS[0]! }, from),
      /audit trail is unavailable/
    )
    assert.equal(await failing.show(id), undefined, 'no tenant without its event')
  } finally {
    await close()
  }
})
