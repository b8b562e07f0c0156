import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { useTestDb } from '../../test/helpers/store-test.js'
import { createEventService } from '../audit/event-service.js'
import type { Actor } from '../audit/events.js'
import { createSecretBox } from './secret-box.js'
import { createTenantDirectory } from './tenant-directory.js'
import { createTenantOperations, type TenantCall } from './tenant-operations.js'

/*
 * The operator service for tenants: who may manage them (decided here for every door), a change
 * logged once and only when made, and the checks every door shares.
 */

const OPERATOR = randomUUID()
const NOW = Date.parse('2026-01-02T03:04:05Z')
const SECRET = 'an-api-secret-of-enough-length'

const store = useTestDb(async (db) => {
  const events = createEventService({ db })
  const directory = createTenantDirectory({
    db,
    events,
    ttlMs: 1000,
    secrets: createSecretBox('a-tenant-secrets-key-for-this-test-only-32+')
  })
  return {
    events,
    tenants: createTenantOperations({ directory, operatorTenantId: OPERATOR, now: () => NOW })
  }
})

function callOf(actor: Actor) {
  const lines: Record<string, unknown>[] = []
  const call: TenantCall = {
    actor,
    requestId: 'req-1',
    log: { info: (fields: Record<string, unknown>) => void lines.push(fields) } as TenantCall['log']
  }
  return { call, lines }
}

const operatorAtConsole: Actor = { kind: 'console', tenantId: OPERATOR.toUpperCase() }

describe('who may manage tenants', () => {
  test('the service API, the CLI and the operator at the console; no other tenant, nor a client', async () => {
    const { tenants } = store.seeded
    const allowed: Actor[] = [
      { kind: 'service-api' },
      { kind: 'cli', user: 'ops', host: 'box' },
      operatorAtConsole
    ]
    for (const actor of allowed) {
      assert.equal(tenants.mayManage(actor), true, actor.kind)
      assert.equal((await tenants.list(callOf(actor).call)).outcome, 'listed')
    }
    const refused: Actor[] = [
      { kind: 'console', tenantId: randomUUID() },
      { kind: 'console', tenantId: null },
      { kind: 'admin-api', tenantId: OPERATOR },
      { kind: 'client', walletAddress: 'https://w.example/alice' }
    ]
    for (const actor of refused) {
      const { call, lines } = callOf(actor)
      const id = randomUUID()
      assert.equal(tenants.mayManage(actor), false, actor.kind)
      assert.equal((await tenants.list(call)).outcome, 'forbidden')
      assert.equal((await tenants.show(call, OPERATOR)).outcome, 'forbidden')
      assert.equal((await tenants.create(call, { id, apiSecret: SECRET })).outcome, 'forbidden')
      assert.equal(
        (await tenants.update(call, OPERATOR, { apiSecret: SECRET })).outcome,
        'forbidden'
      )
      assert.equal((await tenants.remove(call, OPERATOR)).outcome, 'forbidden')
      assert.equal(
        (await tenants.show(callOf({ kind: 'service-api' }).call, id)).outcome,
        'not_found'
      )
      assert.deepEqual(lines, [])
    }
  })
})

describe('changes', () => {
  test('each change made is logged once, naming its fields, never their values', async () => {
    const { tenants } = store.seeded
    const { call, lines } = callOf({ kind: 'service-api' })
    const created = await tenants.create(call, { apiSecret: SECRET, idpConsentUrl: null })
    assert.equal(created.outcome, 'created')
    const id = created.outcome === 'created' ? created.id : ''
    const updated = await tenants.update(call, id.toUpperCase(), {
      idpConsentUrl: 'https://idp.example/consent'
    })
    assert.equal(updated.outcome, 'updated')
    assert.deepEqual(await tenants.remove(call, id), { outcome: 'deleted' })
    assert.deepEqual(lines, [
      {
        event: 'tenant.created',
        tenantId: id,
        by: 'service-api',
        changed: ['apiSecret', 'idpConsentUrl']
      },
      { event: 'tenant.updated', tenantId: id, by: 'service-api', changed: ['idpConsentUrl'] },
      { event: 'tenant.deleted', tenantId: id, by: 'service-api' }
    ])
    assert.ok(!JSON.stringify(lines).includes(SECRET))
    // Deleted at the service's now when no time is given.
    const [deleted] = await store.seeded.events.list(
      { tenantId: id, typeIn: ['tenant.deleted'] },
      { limit: 1 }
    )
    assert.equal(deleted?.actorKind, 'service-api')
    assert.equal(deleted?.requestId, 'req-1')
  })

  test('a webhook secret generated is answered once, and the log names the webhook fields alone', async () => {
    const { tenants } = store.seeded
    const { call, lines } = callOf({ kind: 'cli', user: 'ops', host: 'box' })
    const webhookUrl = 'https://wallet.example/hooks'
    const created = await tenants.create(call, { apiSecret: SECRET, webhookUrl })
    assert.ok(created.outcome === 'created' && created.generatedWebhookSecret)
    const renewed = await tenants.update(call, created.id, { webhookSecret: null })
    assert.ok(renewed.outcome === 'updated' && renewed.generatedWebhookSecret)
    assert.notEqual(renewed.generatedWebhookSecret, created.generatedWebhookSecret)
    const cleared = await tenants.update(call, created.id, { webhookUrl: null })
    assert.deepEqual(cleared, { outcome: 'updated' })
    assert.deepEqual(
      lines.map((line) => line.changed),
      [['apiSecret', 'webhookUrl'], ['webhookSecret'], ['webhookUrl']]
    )
    const shown = await tenants.show(call, created.id)
    assert.ok(shown.outcome === 'found')
    assert.equal(shown.tenant.hasWebhookSecret, false)
    const text = JSON.stringify([lines, shown])
    for (const secret of [created.generatedWebhookSecret, renewed.generatedWebhookSecret]) {
      assert.ok(!text.includes(secret))
    }
  })

  test('a refused change is not logged: invalid, a conflict, an unknown tenant, a bad date', async () => {
    const { tenants } = store.seeded
    const { call, lines } = callOf({ kind: 'cli', user: 'ops', host: 'box' })
    const invalid = await tenants.create(call, { id: 'nope', apiSecret: SECRET })
    assert.deepEqual(invalid, { outcome: 'invalid', problem: { field: 'id', rule: 'uuid' } })
    const short = await tenants.update(call, OPERATOR, { idpSecret: 'short' })
    assert.deepEqual(short, {
      outcome: 'invalid',
      problem: { field: 'idpSecret', rule: 'too_short', limit: 20 }
    })
    const id = randomUUID()
    assert.equal((await tenants.create(call, { id, apiSecret: SECRET })).outcome, 'created')
    lines.length = 0
    assert.equal((await tenants.create(call, { id, apiSecret: SECRET })).outcome, 'conflict')
    assert.equal(
      (await tenants.update(call, randomUUID(), { apiSecret: SECRET })).outcome,
      'not_found'
    )
    assert.equal((await tenants.remove(call, id, new Date('x'))).outcome, 'invalid_date')
    assert.equal(
      (await tenants.remove(call, id, new Date('+010000-01-01'))).outcome,
      'invalid_date'
    )
    assert.equal((await tenants.remove(call, 'nope')).outcome, 'not_found')
    assert.deepEqual(lines, [])
  })

  test('the operator at the console cannot delete its own tenant; the service API may', async () => {
    const { tenants } = store.seeded
    const id = randomUUID()
    const cli = callOf({ kind: 'cli', user: 'ops', host: 'box' }).call
    assert.equal((await tenants.create(cli, { id, apiSecret: SECRET })).outcome, 'created')
    const own = createTenantOperations({
      directory: createTenantDirectory({
        db: store.db,
        events: store.seeded.events,
        ttlMs: 1000,
        secrets: createSecretBox('a-tenant-secrets-key-for-this-test-only-32+')
      }),
      operatorTenantId: id,
      now: () => NOW
    })
    const console = callOf({ kind: 'console', tenantId: id })
    assert.deepEqual(await own.remove(console.call, id.toUpperCase()), { outcome: 'own_tenant' })
    assert.deepEqual(console.lines, [])
    assert.deepEqual(await own.remove(callOf({ kind: 'service-api' }).call, id), {
      outcome: 'deleted'
    })
  })
})
