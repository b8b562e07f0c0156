import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { seedGrant, seedTenant, useTestDb } from '../../test/helpers/store-test.js'
import { createEventService } from '../audit/event-service.js'
import type { EventOrigin } from '../audit/events.js'
import {
  createGrantOperations,
  GrantSearchError,
  scopeOf,
  type GrantScope,
  type OperatorCall
} from './grant-operations.js'

/*
 * The operator service for grants, on its own database: scope decided here (a tenant reaches
 * only its own grants whatever it names; 'all' reaches any, or narrows to a tenant), and a
 * revocation written with its one event, in one transaction, and logged once.
 */

const store = useTestDb(async (db) => ({ a: await seedTenant(db), b: await seedTenant(db) }))

/** A call in `scope`, its log lines kept. */
function callIn(scope: GrantScope, origin?: Partial<EventOrigin>) {
  const lines: Record<string, unknown>[] = []
  const call: OperatorCall = {
    actor: { kind: 'admin-api', tenantId: scope === 'all' ? randomUUID() : scope.tenantId },
    requestId: 'req-1',
    remoteAddress: '192.0.2.1',
    ...origin,
    scope,
    log: {
      info: (fields: Record<string, unknown>) => void lines.push(fields)
    } as OperatorCall['log']
  }
  return { call, lines }
}

const operations = () => {
  const events = createEventService({ db: store.db })
  return { events, grants: createGrantOperations({ db: store.db, events }) }
}

const revokedEvents = async (grantId: string) =>
  (await createEventService({ db: store.db }).ofGrant(grantId)).filter(
    (e) => e.type === 'grant.revoked'
  )

const stateOf = async (grantId: string) =>
  (
    await store.db.query<{ reason: string | null }>(
      'select finalization_reason as reason from grants where id = $1',
      [grantId]
    )
  ).rows[0]?.reason

describe('scope', () => {
  test('scopeOf: the operator tenant all, any other tenant its own', () => {
    assert.equal(scopeOf({ tenantId: 't', isOperator: true }), 'all')
    assert.deepEqual(scopeOf({ tenantId: 't', isOperator: false }), { tenantId: 't' })
  })

  test("a tenant cannot read or revoke another tenant's grant; 'all' can", async () => {
    const { a, b } = store.seeded
    const { grants } = operations()
    const theirs = await seedGrant(store.db, b, 'FINALIZED', 'ISSUED')
    const tenantA = callIn({ tenantId: a })
    assert.equal(await grants.read(tenantA.call, theirs), undefined)
    assert.equal(await grants.revoke(tenantA.call, theirs), undefined)
    assert.equal(await stateOf(theirs), 'ISSUED')
    assert.deepEqual(tenantA.lines, [])
    assert.deepEqual(await revokedEvents(theirs), [])
    // Its own tenant, spelled in upper case, is still its own.
    const own = callIn({ tenantId: b.toUpperCase() })
    assert.equal((await grants.read(own.call, theirs))?.grant.id, theirs)
    const all = callIn('all')
    assert.equal((await grants.read(all.call, theirs.toUpperCase()))?.grant.id, theirs)
    assert.equal((await grants.revoke(all.call, theirs))?.grantId, theirs)
    assert.equal(await stateOf(theirs), 'REVOKED')
  })

  test("a tenant's listing is its own whatever tenant it names; 'all' narrows to the one named", async () => {
    const { a, b } = store.seeded
    const { grants } = operations()
    const ofA = await seedGrant(store.db, a, 'PENDING')
    const ofB = await seedGrant(store.db, b, 'PENDING')
    const request = { order: 'DESC' as const, size: 100 }
    const ids = async (scope: GrantScope, tenantId?: string) =>
      (await grants.page(callIn(scope).call, tenantId ? { tenantId } : {}, request)).rows.map(
        (g) => g.id
      )
    const aSees = await ids({ tenantId: a }, b)
    assert.ok(aSees.includes(ofA) && !aSees.includes(ofB))
    const allSee = await ids('all')
    assert.ok(allSee.includes(ofA) && allSee.includes(ofB))
    const narrowed = await ids('all', b.toUpperCase())
    assert.ok(narrowed.includes(ofB) && !narrowed.includes(ofA))
    const listed = await grants.list(callIn('all').call, { tenantId: a }, { limit: 100 })
    assert.ok(listed.some((g) => g.id === ofA) && listed.every((g) => g.tenantId === a))
  })

  test('a malformed id is no grant; a malformed cursor, tenant or page size is refused', async () => {
    const { grants } = operations()
    const { call } = callIn('all')
    assert.equal(await grants.read(call, 'nope'), undefined)
    assert.equal(await grants.revoke(call, 'nope'), undefined)
    const refused = async (search: { tenantId?: string }, request: object, field: string) =>
      assert.rejects(
        grants.page(call, search, { order: 'DESC', size: 20, ...request }),
        (err: unknown) => err instanceof GrantSearchError && err.problem.field === field
      )
    await refused({ tenantId: 'nope' }, {}, 'tenantId')
    await refused({}, { after: 'nope' }, 'after')
    await refused({}, { before: 'nope' }, 'before')
    await refused({}, { size: 0 }, 'size')
    await refused({}, { size: 101 }, 'size')
    // A tenant's own scope ignores the tenant it names, malformed or not (as Rafiki does).
    const own = callIn({ tenantId: store.seeded.a })
    await grants.page(own.call, { tenantId: 'nope' }, { order: 'DESC', size: 1 })
  })
})

describe('revoke', () => {
  test('one event (the call its actor) and one log line, once however often it is asked', async () => {
    const { a } = store.seeded
    const { grants } = operations()
    const grantId = await seedGrant(store.db, a, 'FINALIZED', 'ISSUED')
    const { call, lines } = callIn('all', { actor: { kind: 'cli', user: 'ops', host: 'box' } })
    const first = await grants.revoke(call, grantId)
    assert.deepEqual(first, {
      grantId,
      tenantId: a,
      client: 'https://w.example/c',
      alreadyRevoked: false
    })
    assert.equal((await grants.revoke(call, grantId))?.alreadyRevoked, true)
    const events = await revokedEvents(grantId)
    assert.equal(events.length, 1)
    assert.equal(events[0]!.actorKind, 'cli')
    assert.equal(events[0]!.actor, 'ops@box')
    assert.equal(events[0]!.requestId, 'req-1')
    assert.equal(events[0]!.client, 'https://w.example/c')
    assert.deepEqual(lines, [
      { event: 'grant.revoked', grantId, tenantId: a, client: 'https://w.example/c', by: 'cli' }
    ])
    // The grant's record carries its trail.
    const read = await grants.read(call, grantId)
    assert.deepEqual(
      read?.events.map((e) => e.type),
      ['grant.revoked']
    )
  })

  test('an event that cannot be written rolls the revocation back, and nothing is logged', async () => {
    const { a } = store.seeded
    const events = createEventService({ db: store.db })
    const failing = createGrantOperations({
      db: store.db,
      events: {
        ...events,
        record: async () => {
          throw new Error('events table unavailable')
        }
      }
    })
    const grantId = await seedGrant(store.db, a, 'FINALIZED', 'ISSUED')
    const { call, lines } = callIn('all')
    await assert.rejects(failing.revoke(call, grantId), /events table unavailable/)
    assert.equal(await stateOf(grantId), 'ISSUED')
    assert.deepEqual(lines, [])
    assert.deepEqual(await revokedEvents(grantId), [])
  })
})
