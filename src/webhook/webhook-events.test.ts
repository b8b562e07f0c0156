import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventIdOfWebhook, webhookIdOf, webhookOf, type SourceEvent } from './webhook-events.js'

const NAMESPACE = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f'

test('a webhook id is a UUIDv8 that names its event, the same every time', () => {
  const id = webhookIdOf(NAMESPACE, '123456789')
  // Pinned: a delivery written by an earlier version, sent again, keeps the id it had.
  assert.equal(id, '6f1c2d3e-4a5b-8c6d-8000-0000075bcd15')
  assert.equal(webhookIdOf(NAMESPACE, '0'), '6f1c2d3e-4a5b-8c6d-8000-000000000000')
  assert.equal(webhookIdOf(NAMESPACE, '123456789'), id)
  assert.equal(eventIdOfWebhook(id), '123456789')
  assert.equal(
    eventIdOfWebhook(webhookIdOf(NAMESPACE, String(2n ** 62n - 1n))),
    String(2n ** 62n - 1n)
  )
  assert.notEqual(webhookIdOf('00000000-0000-4000-8000-000000000000', '123456789'), id)
  // Not one of ours: another version, another variant, not a uuid.
  assert.equal(eventIdOfWebhook('6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f'), undefined)
  assert.equal(eventIdOfWebhook('6f1c2d3e-4a5b-8c6d-0e7f-9a0b1c2d3e4f'), undefined)
  assert.equal(eventIdOfWebhook('nope'), undefined)
})

const event = (overrides: Partial<SourceEvent>): SourceEvent => ({
  id: '7',
  at: '2026-12-06T10:00:00.123456+00:00',
  type: 'grant.revoked',
  tenantId: 't',
  grantId: 'g',
  client: 'https://wallet.example/app',
  actorKind: 'client',
  actor: 'https://wallet.example/app',
  details: {},
  access: [{ type: 'outgoing-payment', actions: ['create'], identifier: null, limits: null }],
  ...overrides
})

test("a grant's event: its state after, its access as stored, who acted", () => {
  const { type, data } = webhookOf(event({}))
  assert.equal(type, 'grant.revoked')
  assert.deepEqual(data, {
    auditEventId: '7',
    at: '2026-12-06T10:00:00.123Z',
    tenantId: 't',
    actor: { kind: 'client', id: 'https://wallet.example/app' },
    grantId: 'g',
    client: 'https://wallet.example/app',
    state: 'FINALIZED',
    finalizationReason: 'REVOKED',
    access: [{ type: 'outgoing-payment', actions: ['create'] }]
  })
  assert.equal(webhookOf(event({ type: 'token.rotated' })).type, 'access_token.rotated')
  // The operator's own names are not sent: the CLI's user and host.
  assert.deepEqual(webhookOf(event({ actorKind: 'cli', actor: 'root@host' })).data.actor, {
    kind: 'cli'
  })
})

test("a grant's webhook is built in key order: its canonical form needs no copy", () => {
  const inKeyOrder = (value: unknown): boolean => {
    if (value === null || typeof value !== 'object') return true
    if (Array.isArray(value)) return value.every(inKeyOrder)
    const keys = Object.keys(value)
    return (
      keys.every((key, i) => i === 0 || keys[i - 1]! < key) &&
      Object.values(value).every(inKeyOrder)
    )
  }
  for (const type of [
    'grant.approved',
    'grant.issued',
    'grant.revoked',
    'token.rotated'
  ] as const) {
    const access = [
      { type: 'outgoing-payment', actions: ['create'], identifier: 'https://w/a', limits: null },
      { type: 'quote', actions: ['read'], identifier: null, limits: null }
    ]
    assert.ok(inKeyOrder(webhookOf(event({ type, access })).data), type)
  }
})

test("a tenant's event: the fields changed, never a secret's value", () => {
  const { data } = webhookOf(
    event({
      type: 'tenant.updated',
      grantId: null,
      client: null,
      access: null,
      actorKind: 'service-api',
      actor: null,
      details: { fields: ['webhookUrl', 'webhookSecret'], webhookUrl: 'https://x', secret: 's' }
    })
  )
  assert.deepEqual(data, {
    auditEventId: '7',
    at: '2026-12-06T10:00:00.123Z',
    tenantId: 't',
    actor: { kind: 'service-api' },
    fields: ['webhookUrl', 'webhookSecret'],
    webhookUrl: 'https://x'
  })
})
