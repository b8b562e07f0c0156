import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { inRolledBackTransaction, openTestDb } from '../../test/helpers/test-server.js'
import type { Db } from '../storage/db.js'
import { findActiveToken } from './token-store.js'
import { isTokenExpired } from './token-value.js'

// Introspection judges a token's expiry in SQL (findActiveToken), for speed: for any creation
// moment and lifetime its answer is the model's (isTokenExpired). On the PostgreSQL server when
// the suite runs on one (OPAS_TEST_DATABASE_URL), on PGlite otherwise.
describe('findActiveToken (SQL) agrees with isTokenExpired (the model)', () => {
  let db: Db
  let close: () => Promise<void>
  const tenantId = randomUUID()
  const grantId = randomUUID()

  before(async () => {
    ;({ db, close } = await openTestDb())
    await db.query('insert into tenants (id) values ($1)', [tenantId])
    await db.query(
      `insert into grants (id, tenant_id, state, finalization_reason, continue_id,
         continue_token_hash, grant_uri, client)
       values ($1, $2, 'FINALIZED', 'ISSUED', $3, $4, 'http://as.example/t', 'https://w.example/c')`,
      [grantId, tenantId, randomUUID(), randomBytes(32)]
    )
  })
  after(() => close())

  test('for generated lifetimes and ages, around the boundary', async () => {
    const cases = fc.record({
      expiresIn: fc.integer({ min: 0, max: 5 }),
      // How long ago the token was created: anywhere, or within 2 ms of its expiry.
      ageMs: fc.oneof(fc.integer({ min: -50, max: 8000 }), fc.integer({ min: -2, max: 2 })),
      nearBoundary: fc.boolean()
    })
    await fc.assert(
      fc.asyncProperty(cases, async ({ expiresIn, ageMs, nearBoundary }) => {
        const age = nearBoundary ? expiresIn * 1000 + Math.max(-2, Math.min(2, ageMs)) : ageMs
        // One transaction: now() is one moment for the insert, the model's clock and the lookup.
        const answers = await inRolledBackTransaction(db, async (tx) => {
          const valueHash = randomBytes(32)
          const { rows } = await tx.query<{ now: Date; created: Date }>(
            `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in,
               created_at)
             values ($1, $2, $3, $4, $5, now() - make_interval(secs => $6::float8 / 1000))
             returning now() as now, created_at as created`,
            [randomUUID(), grantId, valueHash, randomUUID(), expiresIn, age]
          )
          const { now, created } = rows[0]!
          return {
            sql: (await findActiveToken(tx, valueHash)) !== undefined,
            model: !isTokenExpired(created, expiresIn, now)
          }
        })
        assert.equal(answers.sql, answers.model, `expires_in ${expiresIn} s, age ${age} ms`)
      }),
      { numRuns: 200 }
    )
  })
})
