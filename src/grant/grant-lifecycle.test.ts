import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  inRolledBackTransaction,
  lifetimeAndAgeArb,
  useTestDb,
  seedGrant,
  seedTenant
} from '../../test/helpers/store-test.js'
import { GnapError } from '../gnap/gnap-error.js'
import {
  decideContinuation,
  isPendingPoll,
  type ContinuableGrant,
  type ContinuationRequest
} from './grant-lifecycle.js'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import { recordPendingPoll } from './grant-store.js'

const NOW = new Date('2026-12-03T12:00:00.000Z')
const WAIT = 5
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000)

const grant = (over: Partial<ContinuableGrant> = {}): ContinuableGrant => ({
  state: 'PENDING',
  finalizationReason: null,
  finishMethod: null,
  lastContinuedAt: ago(60),
  ...over
})
const poll: ContinuationRequest = { kind: 'poll' }
const ref = (found = true): ContinuationRequest => ({ kind: 'interact_ref', found })

/** The refusal `decide` throws, as `status code: description`. */
function refusal(decide: () => unknown): string {
  try {
    return `decided ${String(decide())}`
  } catch (err) {
    assert.ok(err instanceof GnapError, String(err))
    return `${err.status} ${err.code}: ${err.description}`
  }
}
const decide = (g: ContinuableGrant, request: ContinuationRequest, now = NOW) =>
  refusal(() => decideContinuation(g, request, now, WAIT))

describe('continuation with interact_ref (RFC 9635 §5.1)', () => {
  const approved = grant({ state: 'APPROVED', finishMethod: 'redirect' })

  test('an approved grant is issued; a reference not of this grant is unknown', () => {
    assert.equal(decideContinuation(approved, ref(), NOW, WAIT), 'issue')
    assert.equal(decide(approved, ref(false)), '404 invalid_continuation: grant not found')
  })

  test('a rejected grant answers as an unknown reference, whatever else holds', () => {
    const rejected = grant({ state: 'FINALIZED', finalizationReason: 'REJECTED' })
    assert.equal(decide(rejected, ref()), '404 invalid_continuation: grant not found')
    assert.equal(
      decide({ ...rejected, lastContinuedAt: NOW }, ref()),
      '404 invalid_continuation: grant not found'
    )
  })

  test('within wait it is too fast; at wait exactly it is not', () => {
    const early = { ...approved, lastContinuedAt: ago(WAIT - 0.001) }
    assert.equal(decide(early, ref()), '400 too_fast: continued grant faster than "wait" period')
    assert.equal(
      decideContinuation({ ...approved, lastContinuedAt: ago(WAIT) }, ref(), NOW, WAIT),
      'issue'
    )
  })

  test('a spent reference (token issued) and a grant not yet approved are refused', () => {
    const issued = grant({ state: 'FINALIZED', finalizationReason: 'ISSUED' })
    assert.equal(decide(issued, ref()), '401 request_denied: grant already continued: token issued')
    for (const state of ['PENDING', 'PROCESSING'] as const) {
      assert.equal(
        decide(grant({ state }), ref()),
        '401 request_denied: grant interaction not approved'
      )
    }
  })
})

describe('polling (RFC 9635 §5.2)', () => {
  test('a grant waiting for its account holder is pending; an approved one is issued', () => {
    assert.equal(decideContinuation(grant(), poll, NOW, WAIT), 'pending')
    assert.equal(decideContinuation(grant({ state: 'PROCESSING' }), poll, NOW, WAIT), 'pending')
    assert.equal(decideContinuation(grant({ state: 'APPROVED' }), poll, NOW, WAIT), 'issue')
  })

  test('too fast first; then a grant with a finish method is never polled; then a finalised one is refused', () => {
    const early = grant({ lastContinuedAt: ago(1), finishMethod: 'redirect' })
    assert.equal(decide(early, poll), '400 too_fast: polled grant faster than "wait" period')
    assert.equal(
      decide(grant({ finishMethod: 'redirect' }), poll),
      '401 request_denied: grant cannot be polled'
    )
    for (const finalizationReason of ['ISSUED', 'REJECTED'] as const) {
      assert.equal(
        decide(grant({ state: 'FINALIZED', finalizationReason }), poll),
        '401 request_denied: grant cannot be continued'
      )
    }
  })

  test('isPendingPoll is the poll decision being "pending"', () => {
    assert.equal(isPendingPoll(grant(), NOW, WAIT), true)
    assert.equal(isPendingPoll(grant({ lastContinuedAt: ago(1) }), NOW, WAIT), false)
    assert.equal(isPendingPoll(grant({ state: 'APPROVED' }), NOW, WAIT), false)
  })
})

// grant-store's recordPendingPoll decides a pending poll in one statement, for speed: for any
// grant row, wait and moment, its answer is the model's. Run on the PostgreSQL server when the
// suite runs on one (OPAS_TEST_DATABASE_URL), on a throwaway embedded one otherwise.
describe('recordPendingPoll (SQL) agrees with isPendingPoll (the model)', () => {
  const store = useTestDb(seedTenant)

  const states: [GrantState, FinalizationReason | null][] = [
    ['PROCESSING', null],
    ['PENDING', null],
    ['APPROVED', null],
    ['FINALIZED', 'ISSUED'],
    ['FINALIZED', 'REJECTED'],
    ['FINALIZED', 'REVOKED']
  ]

  test('for generated states, finish methods, waits and poll moments', async () => {
    const cases = fc.record({
      state: fc.constantFrom(...states),
      finishMethod: fc.constantFrom(null, 'redirect'),
      // `wait`, and how long before now the grant was last continued.
      wait: lifetimeAndAgeArb
    })
    await fc.assert(
      fc.asyncProperty(cases, async ({ state: [state, reason], finishMethod, wait }) => {
        // One transaction: now() is one moment for the grant, the model's clock and the update.
        const answers = await inRolledBackTransaction(store.db, async (tx) => {
          const grantId = await seedGrant(tx, store.seeded, state, reason)
          const { rows } = await tx.query<{ now: Date; last: Date; continueId: string }>(
            `update grants set finish_method = $2,
               last_continued_at = now() - make_interval(secs => $3::float8 / 1000)
             where id = $1
             returning now() as now, last_continued_at as last, continue_id as "continueId"`,
            [grantId, finishMethod, wait.ageMs]
          )
          const row = rows[0]!
          const model = isPendingPoll(
            { state, finalizationReason: reason, finishMethod, lastContinuedAt: row.last },
            row.now,
            wait.seconds
          )
          const sql = await recordPendingPoll(tx, row.continueId, wait.seconds)
          return { sql, model }
        })
        assert.equal(
          answers.sql,
          answers.model,
          `${state}/${reason} finish=${finishMethod} wait=${wait.seconds}s since=${wait.ageMs}ms`
        )
      }),
      { numRuns: 200 }
    )
  })
})
