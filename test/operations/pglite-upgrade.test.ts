import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import { createEmbeddedDb } from '../../src/storage/embedded/embedded-db.js'
import { applyMigrations, listMigrations } from '../../src/storage/migrate.js'
import { tempFolder } from '../helpers/opas-process.js'
import { seedGrant, seedTenant } from '../helpers/store-test.js'

/**
 * A data directory from an earlier opas, which kept its embedded data in PGlite under
 * DATA_DIR/pglite, at an older schema: the first start on the embedded PostgreSQL copies every
 * row over (bytes and times intact), says so, and sets the PGlite files aside; later starts do
 * not copy again.
 */

const root = tempFolder('opas-upgrade-')
after(() => rmSync(root, { recursive: true, force: true }))

/** A PGlite data directory as opas left it, migrated up to `version` only, with a few rows. */
async function earlierDataDir(dataDir: string, version: number) {
  mkdirSync(dataDir, { recursive: true })
  const pglite = await PGlite.create(join(dataDir, 'pglite'))
  const q = {
    query: async (sql: string, params?: readonly unknown[]) => {
      const r = await pglite.query(sql, params as unknown[])
      return { rows: r.rows as never[], rowCount: r.rows.length }
    },
    exec: async (sql: string) => void (await pglite.exec(sql))
  }
  await applyMigrations(
    q,
    listMigrations().filter((m) => m.version <= version)
  )
  const tenantId = await seedTenant(q)
  const grants = [
    await seedGrant(q, tenantId, 'FINALIZED', 'ISSUED'),
    await seedGrant(q, tenantId, 'PENDING')
  ]
  // A token rotated at T: the old one revoked, the new one created, in one statement then.
  const T = '2025-03-01T10:00:00.123456Z'
  const tokens = { old: randomUUID(), new: randomUUID() }
  for (const [id, created, revoked] of [
    [tokens.old, '2025-03-01T09:00:00Z', T],
    [tokens.new, T, null]
  ]) {
    await pglite.query(
      `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in, created_at,
         revoked_at)
       values ($1, $2, $3, $4, 600, $5, $6)`,
      [id, grants[0], randomBytes(32), randomUUID(), created, revoked]
    )
  }
  const { rows } = await pglite.query<{ id: string; hash: Uint8Array; created: string }>(
    `select id, continue_token_hash as hash, created_at::text as created from grants order by id`
  )
  await pglite.close()
  return { tenantId, grants, rows, tokens }
}

test('an earlier PGlite data directory is copied in once and set aside', async () => {
  const dataDir = join(root, 'data')
  const before = await earlierDataDir(dataDir, 3)
  const lines: string[] = []
  const log = {
    debug() {},
    info: (_: object, message: string) => void lines.push(message),
    warn: (_: object, message: string) => void lines.push(message),
    error: (_: object, message: string) => void lines.push(message)
  }

  const db = await createEmbeddedDb(dataDir, { poolSize: 2, log })
  try {
    const { rows } = await db.query<{ id: string; hash: Buffer; created: string }>(
      `select id, continue_token_hash as hash, created_at::text as created from grants order by id`
    )
    assert.deepEqual(
      rows.map((r) => [r.id, r.hash.toString('hex'), r.created]),
      before.rows.map((r) => [r.id, Buffer.from(r.hash).toString('hex'), r.created])
    )
    const tenants = await db.query<{ id: string }>('select id from tenants')
    assert.deepEqual(
      tenants.rows.map((r) => r.id),
      [before.tenantId]
    )
    // Columns added since come along: the rotation is linked (migration 006's backfill).
    const links = await db.query<{ id: string; rotatedFrom: string | null }>(
      'select id, rotated_from as "rotatedFrom" from access_tokens order by created_at'
    )
    assert.deepEqual(links.rows, [
      { id: before.tokens.old, rotatedFrom: null },
      { id: before.tokens.new, rotatedFrom: before.tokens.old }
    ])
    // The copy brought the old schema up to this build's first.
    const versions = await db.query<{ version: number }>(
      'select version from opas_migrations order by version'
    )
    assert.deepEqual(
      versions.rows.map((r) => r.version),
      listMigrations().map((m) => m.version)
    )
  } finally {
    await db.close()
  }
  assert.ok(
    lines.some((l) => /found a PGlite database from an earlier opas/.test(l)),
    lines.join('\n')
  )
  assert.ok(
    lines.some((l) => /PGlite files are kept in .*pglite\.imported-/.test(l)),
    lines.join('\n')
  )
  assert.equal(existsSync(join(dataDir, 'pglite')), false)
  assert.ok(readdirSync(dataDir).some((name) => name.startsWith('pglite.imported-')))

  // A later start serves what it has, copying nothing again.
  lines.length = 0
  const again = await createEmbeddedDb(dataDir, { poolSize: 2, log })
  try {
    const { rows } = await again.query<{ n: number }>('select count(*)::int as n from grants')
    assert.equal(rows[0]!.n, 2)
  } finally {
    await again.close()
  }
  assert.ok(!lines.some((l) => /PGlite/.test(l)), lines.join('\n'))
})

test('a start killed after creating the server but before the copy committed copies again', async () => {
  const dataDir = join(root, 'interrupted')
  // The embedded server was created (and is empty), but the PGlite folder is still in place.
  const first = await createEmbeddedDb(dataDir, { poolSize: 2 })
  await first.close()
  const before = await earlierDataDir(dataDir, 5)
  const db = await createEmbeddedDb(dataDir, { poolSize: 2 })
  try {
    const { rows } = await db.query<{ id: string }>('select id from grants order by id')
    assert.deepEqual(
      rows.map((r) => r.id),
      before.rows.map((r) => r.id)
    )
  } finally {
    await db.close()
  }
})
