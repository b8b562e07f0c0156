import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  inRolledBackTransaction,
  lifetimeAndAgeArb,
  useTestDb,
  seedGrant,
  seedTenant
} from '../../test/helpers/store-test.js'
import {
  finishStep,
  isInteractionExpired,
  settledStatus,
  startRefusal,
  type InteractionFacts
} from './interaction-lifecycle.js'
import { decideInteraction, findInteraction } from './interaction-store.js'

const open: InteractionFacts = {
  state: 'PENDING',
  expired: false,
  grantState: 'PENDING',
  finalizationReason: null
}
const revoked = { grantState: 'FINALIZED', finalizationReason: 'REVOKED' } as const

describe('the start (RFC 9635 §4.1.1)', () => {
  test('only a pending, unexpired interaction of an open grant asks the account holder', () => {
    assert.equal(startRefusal(open), undefined)
    assert.equal(startRefusal({ ...open, expired: true }), 'interaction expired')
    assert.equal(startRefusal({ ...open, state: 'APPROVED' }), 'invalid interaction')
    assert.equal(startRefusal({ ...open, ...revoked }), 'invalid interaction')
    // The expiry is the message whatever else holds.
    assert.equal(startRefusal({ ...open, state: 'DENIED', expired: true }), 'interaction expired')
  })
})

describe('the finish (RFC 9635 §4.2)', () => {
  test("an expired pending interaction fails before the session is checked, as Rafiki's", () => {
    const step = finishStep({ ...open, expired: true }, false)
    assert.deepEqual(step, {
      kind: 'failed',
      result: 'invalid_interaction',
      message: 'interaction expired',
      status: 401,
      code: 'invalid_interaction'
    })
  })

  test('then only its own browser; then a revoked grant is unknown; then the answer', () => {
    assert.equal(finishStep({ ...open, state: 'APPROVED' }, false).kind, 'foreign-session')
    assert.deepEqual(finishStep({ ...open, ...revoked, state: 'APPROVED' }, true), {
      kind: 'failed',
      result: 'unknown_interaction',
      message: 'unknown interaction',
      status: 404,
      code: 'unknown_interaction'
    })
    assert.equal(finishStep(open, true).kind, 'undecided')
    assert.equal(finishStep({ ...open, state: 'DENIED' }, true).kind, 'rejected')
    // A decided interaction finishes with its answer even past its lifetime.
    assert.equal(finishStep({ ...open, state: 'APPROVED', expired: true }, true).kind, 'approved')
  })
})

describe('the built-in consent screen', () => {
  test('open while pending; otherwise closed, answered or expired, in that order', () => {
    assert.equal(settledStatus(open), undefined)
    assert.equal(settledStatus({ ...open, ...revoked, expired: true }), 'closed')
    assert.equal(settledStatus({ ...open, state: 'APPROVED', expired: true }), 'accepted')
    assert.equal(settledStatus({ ...open, state: 'DENIED' }), 'declined')
    assert.equal(settledStatus({ ...open, expired: true }), 'expired')
    assert.equal(
      settledStatus({ ...open, grantState: 'FINALIZED', finalizationReason: 'REJECTED' }),
      'closed'
    )
  })
})

// interaction-store judges expiry in SQL (the view's `expired`, and a decision is recorded only
// within the lifetime): for any creation moment and lifetime both agree with the model. On the
// PostgreSQL server when the suite runs on one (OPAS_TEST_DATABASE_URL), on a throwaway embedded one otherwise.
describe('interaction-store (SQL) agrees with isInteractionExpired (the model)', () => {
  // A pending grant the generated interactions belong to.
  const store = useTestDb(async (db) => seedGrant(db, await seedTenant(db), 'PENDING'))

  test('for generated lifetimes and ages, around the boundary', async () => {
    await fc.assert(
      fc.asyncProperty(lifetimeAndAgeArb, async ({ seconds: expiresIn, ageMs: age }) => {
        // One transaction: now() is one moment for the insert, the reads and the model's clock.
        const answers = await inRolledBackTransaction(store.db, async (tx) => {
          const id = randomUUID()
          const nonce = 'N'
          const { rows } = await tx.query<{ now: Date; created: Date }>(
            `insert into interactions (id, grant_id, ref, nonce, state, expires_in, created_at)
             values ($1, $2, $3, $4, 'PENDING', $5,
               now() - make_interval(secs => $6::float8 / 1000))
             returning now() as now, created_at as created`,
            [id, store.seeded, randomUUID(), nonce, expiresIn, age]
          )
          const { now, created } = rows[0]!
          return {
            model: isInteractionExpired(created, expiresIn, now),
            view: (await findInteraction(tx, id, nonce))!.expired,
            // A decision is recorded exactly while the interaction has not expired.
            decidable: await decideInteraction(tx, id, 'APPROVED')
          }
        })
        const where = `expires_in ${expiresIn} s, age ${age} ms`
        assert.equal(answers.view, answers.model, where)
        assert.equal(answers.decidable, !answers.model, where)
      }),
      { numRuns: 200 }
    )
  })
})
