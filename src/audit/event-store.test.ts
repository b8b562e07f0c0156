import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { useTestDb } from '../../test/helpers/store-test.js'
import type { Queryable } from '../storage/db.js'
import {
  eventParams,
  eventsOfGrant,
  insertEvent,
  insertEventSql,
  listEvents,
  purgeEvents
} from './event-store.js'
import type { NewEvent } from './events.js'

/** The audit trail's table: what is written is read back whole, and nothing else is. */

const store = useTestDb(async () => undefined)
const db = () => store.db

const WALLET = 'https://wallet.example/app'
const tenantA = randomUUID()
const tenantB = randomUUID()

const event = (overrides: Partial<NewEvent> = {}): NewEvent => ({
  type: 'grant.requested',
  tenantId: tenantA,
  grantId: randomUUID(),
  client: WALLET,
  actor: { kind: 'client', walletAddress: WALLET },
  requestId: 'req-1',
  remoteAddress: '192.0.2.7',
  ...overrides
})

/** The events of one test: each test writes under tenants of its own. */
const ofTenant = (tenantId: string) => listEvents(db(), { tenantId }, { limit: 200 })

describe('writing', () => {
  test('an event is read back with its actor, request and details', async () => {
    const tenantId = randomUUID()
    const written = event({
      tenantId,
      type: 'tenant.updated',
      grantId: null,
      client: null,
      actor: { kind: 'cli', user: 'ops', host: 'bastion' },
      details: { fields: ['idpConsentUrl', 'idpSecret'] }
    })
    await insertEvent(db(), written)
    const [read] = await ofTenant(tenantId)
    assert.ok(read)
    assert.equal(read.type, 'tenant.updated')
    assert.equal(read.tenantId, tenantId)
    assert.equal(read.grantId, null)
    assert.equal(read.actorKind, 'cli')
    assert.equal(read.actor, 'ops@bastion')
    assert.equal(read.requestId, 'req-1')
    assert.equal(read.remoteAddress, '192.0.2.7')
    assert.deepEqual(read.details, { fields: ['idpConsentUrl', 'idpSecret'] })
    assert.ok(read.at instanceof Date)
  })

  test('each actor is stored as its kind and its name', async () => {
    const tenantId = randomUUID()
    const actors: [NewEvent['actor'], string, string | null][] = [
      [{ kind: 'client', walletAddress: WALLET }, 'client', WALLET],
      [{ kind: 'client', keyThumbprint: 'abc' }, 'client', 'jwk:abc'],
      [{ kind: 'idp', tenantId }, 'idp', tenantId],
      [{ kind: 'admin-api', tenantId }, 'admin-api', tenantId],
      [{ kind: 'console', tenantId }, 'console', tenantId],
      [{ kind: 'service-api' }, 'service-api', null],
      [{ kind: 'retention' }, 'retention', null],
      [{ kind: 'account-holder' }, 'account-holder', null]
    ]
    for (const [actor] of actors) await insertEvent(db(), event({ tenantId, actor }))
    const read = (await ofTenant(tenantId)).reverse()
    assert.deepEqual(
      read.map((e) => [e.actorKind, e.actor]),
      actors.map(([, kind, name]) => [kind, name])
    )
  })

  test('spliced into a statement: one event per row the change touched, none when it touched none', async () => {
    const tenantId = randomUUID()
    const grants = [randomUUID(), randomUUID()]
    const write = (q: Queryable, ids: string[]) =>
      q.query(
        `with changed(id) as (select unnest($1::uuid[]))
         ${insertEventSql('changed', 2, { tenant: `'${tenantId}'::uuid`, grant: 'changed.id' })}`,
        [ids, ...eventParams(event({ type: 'grant.revoked' }))]
      )
    await write(db(), grants)
    await write(db(), [])
    const read = await ofTenant(tenantId)
    assert.deepEqual(read.map((e) => e.grantId).sort(), [...grants].sort())
    assert.ok(read.every((e) => e.type === 'grant.revoked'))
  })

  test('a change rolled back leaves no event', async () => {
    const tenantId = randomUUID()
    await assert.rejects(
      db().transaction(async (tx) => {
        await insertEvent(tx, event({ tenantId }))
        throw new Error('the change failed after its event was written')
      }),
      /the change failed/
    )
    assert.deepEqual(await ofTenant(tenantId), [])
  })
})

describe('reading', () => {
  test('filters: tenant, grant, type, wallet address (the grant’s client or the acting client), time', async () => {
    const grant = randomUUID()
    const other = 'https://wallet.example/other'
    const before = new Date(Date.now() - 60_000)
    await insertEvent(db(), event({ tenantId: tenantA, grantId: grant, type: 'grant.requested' }))
    await insertEvent(db(), event({ tenantId: tenantA, grantId: grant, type: 'grant.issued' }))
    await insertEvent(
      db(),
      event({
        tenantId: tenantB,
        client: null,
        grantId: null,
        actor: { kind: 'client', walletAddress: other }
      })
    )
    const list = (filter: Parameters<typeof listEvents>[1]) =>
      listEvents(db(), filter, { limit: 200 })

    assert.ok((await list({ tenantId: tenantA })).every((e) => e.tenantId === tenantA))
    assert.deepEqual(
      (await list({ grantId: grant })).map((e) => e.type),
      ['grant.issued', 'grant.requested'],
      'newest first'
    )
    assert.deepEqual(
      (await list({ grantId: grant, typeIn: ['grant.issued'] })).map((e) => e.type),
      ['grant.issued']
    )
    assert.deepEqual(
      (await list({ walletAddress: other })).map((e) => e.tenantId),
      [tenantB],
      'the acting client'
    )
    assert.ok((await list({ walletAddress: WALLET, tenantId: tenantA })).length >= 2)
    assert.equal((await list({ grantId: grant, since: new Date(Date.now() + 60_000) })).length, 0)
    assert.equal((await list({ grantId: grant, until: before })).length, 0)
    assert.equal((await list({ grantId: grant, since: before })).length, 2)
  })

  test('pages newest first: the page after an event id goes on from it', async () => {
    const tenantId = randomUUID()
    for (let i = 0; i < 5; i++) await insertEvent(db(), event({ tenantId, details: { i } }))
    const first = await listEvents(db(), { tenantId }, { limit: 2 })
    const second = await listEvents(db(), { tenantId }, { limit: 2, before: first[1]!.id })
    const third = await listEvents(db(), { tenantId }, { limit: 2, before: second[1]!.id })
    assert.deepEqual(
      [...first, ...second, ...third].map((e) => e.details.i),
      [4, 3, 2, 1, 0]
    )
  })

  test("a grant's events oldest first: its history", async () => {
    const grantId = randomUUID()
    for (const type of ['grant.requested', 'grant.approved', 'grant.issued'] as const) {
      await insertEvent(db(), event({ grantId, type }))
    }
    assert.deepEqual(
      (await eventsOfGrant(db(), grantId)).map((e) => e.type),
      ['grant.requested', 'grant.approved', 'grant.issued']
    )
  })
})

test('purging deletes the events older than the retention period, and only those', async () => {
  const tenantId = randomUUID()
  await insertEvent(db(), event({ tenantId, details: { age: 'old' } }))
  await insertEvent(db(), event({ tenantId, details: { age: 'new' } }))
  await db().query(
    `update events set at = now() - interval '400 days'
     where tenant_id = $1 and details->>'age' = 'old'`,
    [tenantId]
  )
  let purged = 0
  for (let deleted = 1; deleted > 0; purged += deleted) deleted = await purgeEvents(db(), 1000, 365)
  assert.ok(purged >= 1)
  assert.deepEqual(
    (await ofTenant(tenantId)).map((e) => e.details.age),
    ['new']
  )
})
