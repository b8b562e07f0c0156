import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { openTestDb, seedGrant, seedTenant } from '../../test/helpers/store-test.js'
import type { Db } from './db.js'
import { applyMigrations, listMigrations, migrate } from './migrate.js'

/*
 * Migration 006 links the rotations made before it: a rotation revoked the old token and inserted
 * the new one in one statement, so the new token's created_at equals the old one's revoked_at,
 * within one grant. A database at version 5 with rotations, other revocations and a coincidence
 * across grants is brought to this build's schema: only the rotations are linked.
 */

let db: Db
let close: (() => Promise<void>) | undefined

before(async () => {
  ;({ db, close } = await openTestDb({ migrated: false }))
})
after(() => close?.())

/** Applies the migrations up to `version` only. */
const migrateTo = async (version: number) =>
  applyMigrations(
    db,
    listMigrations().filter((m) => m.version <= version)
  )

/** A token of `grantId` created at `created` (and revoked at `revoked`), by its id. */
async function token(grantId: string, created: string, revoked: string | null): Promise<string> {
  const id = randomUUID()
  await db.query(
    `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in, created_at,
       revoked_at)
     values ($1, $2, $3, $4, 600, $5, $6)`,
    [id, grantId, randomBytes(32), randomUUID(), created, revoked]
  )
  return id
}

test('migration 006 sets rotated_from for rotations only', async () => {
  await migrateTo(5)
  const tenantId = await seedTenant(db)
  const grant = await seedGrant(db, tenantId, 'FINALIZED', 'ISSUED')
  const other = await seedGrant(db, tenantId, 'FINALIZED', 'ISSUED')
  const T = '2025-03-01T10:00:00.123456Z'
  const T2 = '2025-03-01T11:00:00.654321Z'
  // Issued, rotated at T, the new one rotated again at T2.
  const first = await token(grant, '2025-03-01T09:00:00Z', T)
  const second = await token(grant, T, T2)
  const third = await token(grant, T2, null)
  // Revoked by its client (DELETE /token), with no token created at that moment.
  const unrelated = await token(grant, '2025-03-01T09:30:00Z', '2025-03-01T09:45:00Z')
  // Created at T in another grant: not a rotation of this grant's token revoked at T.
  const elsewhere = await token(other, T, null)

  const applied = await migrate(db)
  assert.ok(applied.includes('006_grant_history'), applied.join(', '))

  const { rows } = await db.query<{ id: string; rotatedFrom: string | null }>(
    'select id, rotated_from as "rotatedFrom" from access_tokens'
  )
  const rotatedFrom = new Map(rows.map((r) => [r.id, r.rotatedFrom]))
  assert.deepEqual(
    [first, second, third, unrelated, elsewhere].map((id) => rotatedFrom.get(id)),
    [null, first, second, null, null]
  )
  // The other columns of 006 are there, empty for the rows before it.
  const interaction = await db.query<{ name: string }>(
    `select column_name as name from information_schema.columns
     where table_name = 'interactions' and column_name = 'finished_at'`
  )
  assert.equal(interaction.rows.length, 1)
  const index = await db.query<{ def: string }>(
    "select indexdef as def from pg_indexes where indexname = 'grants_client_created_idx'"
  )
  assert.match(index.rows[0]?.def ?? '', /\(client, created_at, id\)/)
})
