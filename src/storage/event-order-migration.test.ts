import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { openTestDb } from '../../test/helpers/store-test.js'
import type { Db } from './db.js'
import { applyMigrations, listMigrations, migrate } from './migrate.js'

/*
 * Migration 012 numbers the events: a database at version 11 with events (written by the
 * previous build, ids time-ordered uuids, some sharing one transaction's time) is brought to
 * this build's schema, its events numbered in their time order, and new events numbered after
 * them, in the order written.
 */

let db: Db
let close: (() => Promise<void>) | undefined

before(async () => {
  ;({ db, close } = await openTestDb({ migrated: false }))
})
after(() => close?.())

test('migration 012 numbers existing events in time order; new ones follow', async () => {
  await applyMigrations(
    db,
    listMigrations().filter((m) => m.version <= 11)
  )
  const tenantId = randomUUID()
  // Inserted out of time order, two of them at one moment (ids then decide).
  const old = [
    ['2025-03-01T10:00:02Z', '01900000-0000-7000-8000-000000000003', 'token.rotated'],
    ['2025-03-01T10:00:00Z', '01900000-0000-7000-8000-000000000001', 'grant.requested'],
    ['2025-03-01T10:00:00Z', '01900000-0000-7000-8000-000000000002', 'grant.issued']
  ]
  for (const [at, id, type] of old) {
    await db.query(
      `insert into events (id, at, type, tenant_id, actor_kind) values ($1, $2, $3, $4, 'client')`,
      [id, at, type, tenantId]
    )
  }
  const applied = await migrate(db)
  assert.ok(applied.includes('012_event_order'), applied.join(', '))
  await db.query(
    `insert into events (type, tenant_id, actor_kind) values ('grant.revoked', $1, 'cli')`,
    [tenantId]
  )
  const { rows } = await db.query<{ id: string; type: string }>(
    'select id::text, type from events where tenant_id = $1 order by events.id',
    [tenantId]
  )
  assert.deepEqual(
    rows.map((r) => r.type),
    ['grant.requested', 'grant.issued', 'token.rotated', 'grant.revoked']
  )
  assert.deepEqual(
    rows.map((r) => r.id),
    ['1', '2', '3', '4']
  )
  // Numbered by the database alone: nobody writes an id.
  await assert.rejects(
    db.query(`insert into events (id, type, actor_kind) values (99, 'grant.revoked', 'cli')`),
    /cannot insert a non-DEFAULT value into column "id"|generated always/i
  )
})
