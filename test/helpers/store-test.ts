import { randomBytes, randomUUID } from 'node:crypto'
import { after, before } from 'node:test'
import fc from 'fast-check'
import type { FinalizationReason, GrantState } from '../../src/gnap/grant-states.js'
import type { Db, Queryable } from '../../src/storage/db.js'
import { migrate } from '../../src/storage/migrate.js'
import { createEmbeddedDb } from '../../src/storage/embedded/embedded-db.js'
import { createPostgresDb } from '../../src/storage/postgres-db.js'
import { createTestDatabase } from './test-server.js'

/*
 * Store-level tests: a migrated database of their own, rows seeded directly, and property tests
 * that hold a store's SQL equal to a pure model inside one rolled-back transaction.
 */
/**
 * A migrated database for store-level tests: a throwaway database on the PostgreSQL server when
 * the suite runs on one (OPAS_TEST_DATABASE_URL), a throwaway embedded one otherwise.
 */
export async function openTestDb(
  options: { migrated?: boolean } = {}
): Promise<{ db: Db; close(): Promise<void> }> {
  const database = await createTestDatabase()
  const db = database
    ? createPostgresDb(database.url, 4)
    : await createEmbeddedDb('memory://', { poolSize: 4 })
  // A migration's own test builds the earlier schema itself.
  if (options.migrated !== false) await migrate(db)
  return {
    db,
    async close() {
      await db.close()
      await database?.drop()
    }
  }
}

/**
 * A migrated test database for the enclosing suite: opened (and `seed` run on it, for the rows
 * every case builds on) before its tests, closed after them. Read `db` and `seeded` in a test.
 */
export function useTestDb<T>(seed: (db: Db) => Promise<T>): {
  readonly db: Db
  readonly seeded: T
} {
  let opened: { db: Db; close(): Promise<void> } | undefined
  let seeded: { value: T } | undefined
  before(async () => {
    opened = await openTestDb()
    seeded = { value: await seed(opened.db) }
  })
  after(() => opened?.close())
  return {
    get db() {
      if (!opened) throw new Error('useTestDb: read in a test, after the suite opened it')
      return opened.db
    },
    get seeded() {
      if (!seeded) throw new Error('useTestDb: read in a test, after the suite seeded it')
      return seeded.value
    }
  }
}

/**
 * `fn`'s result, computed in a transaction that is then rolled back: rows written to set up a
 * case leave nothing behind, and now() is one moment throughout.
 */
export async function inRolledBackTransaction<T>(
  db: Db,
  fn: (tx: Queryable) => Promise<T>
): Promise<T> {
  const rollback = Symbol('rollback')
  let result: { value: T } | undefined
  await db
    .transaction(async (tx) => {
      result = { value: await fn(tx) }
      throw rollback
    })
    .catch((err: unknown) => {
      if (err !== rollback) throw err
    })
  return result!.value
}

/** A live tenant, for rows that need one. */
export async function seedTenant(q: Queryable): Promise<string> {
  const tenantId = randomUUID()
  await q.query('insert into tenants (id) values ($1)', [tenantId])
  return tenantId
}

/** A grant row of a client wallet address, in `state`, with the few columns every grant needs. */
export async function seedGrant(
  q: Queryable,
  tenantId: string,
  state: GrantState,
  finalizationReason: FinalizationReason | null = null
): Promise<string> {
  const grantId = randomUUID()
  await q.query(
    `insert into grants (id, tenant_id, state, finalization_reason, continue_id,
       continue_token_hash, grant_uri, client)
     values ($1, $2, $3, $4, $5, $6, 'http://as.example/t', 'https://w.example/c')`,
    [grantId, tenantId, state, finalizationReason, randomUUID(), randomBytes(32)]
  )
  return grantId
}

/**
 * A lifetime of 0-5 s and an age in milliseconds: anywhere from just ahead of now to past
 * every lifetime, or within 2 ms of the lifetime's end, where `<` and `<=` differ.
 */
export const lifetimeAndAgeArb = fc.integer({ min: 0, max: 5 }).chain((seconds) =>
  fc.record({
    seconds: fc.constant(seconds),
    ageMs: fc.oneof(
      fc.integer({ min: -50, max: 8000 }),
      fc.integer({ min: -2, max: 2 }).map((d) => seconds * 1000 + d)
    )
  })
)
