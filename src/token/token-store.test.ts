import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  inRolledBackTransaction,
  lifetimeAndAgeArb,
  useTestDb,
  seedGrant,
  seedTenant
} from '../../test/helpers/store-test.js'
import { findActiveToken } from './token-store.js'
import { isTokenExpired } from './token-value.js'

// Introspection judges a token's expiry in SQL (findActiveToken), for speed: for any creation
// moment and lifetime its answer is the model's (isTokenExpired). On the PostgreSQL server when
// the suite runs on one (OPAS_TEST_DATABASE_URL), on a throwaway embedded one otherwise.
describe('findActiveToken (SQL) agrees with isTokenExpired (the model)', () => {
  // An issued grant the generated tokens belong to.
  const store = useTestDb(async (db) => seedGrant(db, await seedTenant(db), 'FINALIZED', 'ISSUED'))

  test('for generated lifetimes and ages, around the boundary', async () => {
    await fc.assert(
      fc.asyncProperty(lifetimeAndAgeArb, async ({ seconds, ageMs }) => {
        // One transaction: now() is one moment for the insert, the model's clock and the lookup.
        const answers = await inRolledBackTransaction(store.db, async (tx) => {
          const valueHash = randomBytes(32)
          const { rows } = await tx.query<{ now: Date; created: Date }>(
            `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in,
               created_at)
             values ($1, $2, $3, $4, $5, now() - make_interval(secs => $6::float8 / 1000))
             returning now() as now, created_at as created`,
            [randomUUID(), store.seeded, valueHash, randomUUID(), seconds, ageMs]
          )
          const { now, created } = rows[0]!
          return {
            sql: (await findActiveToken(tx, valueHash)) !== undefined,
            model: !isTokenExpired(created, seconds, now)
          }
        })
        assert.equal(answers.sql, answers.model, `expires_in ${seconds} s, age ${ageMs} ms`)
      }),
      { numRuns: 200 }
    )
  })
})
