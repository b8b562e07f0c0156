import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DeliveryView } from '../../webhook/webhook-store.js'
import { ageInWords, deliveryInWords } from './delivery-words.js'

const NOW = Date.parse('2026-12-03T14:15:00Z')
const at = (offsetMs: number) => new Date(NOW + offsetMs)

const delivery = (change: Partial<DeliveryView>): DeliveryView => ({
  id: '0190c6a2-7b1e-7c3d-9a4f-5e6d7c8b9a0f',
  eventId: '7',
  tenantId: null,
  type: 'grant.issued',
  grantId: '5f0c2d1e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  createdAt: at(-60_000),
  state: 'pending',
  attempts: 0,
  nextAttemptAt: null,
  leasedUntil: null,
  lastAttemptAt: null,
  lastStatus: null,
  lastError: null,
  deliveredAt: null,
  queued: false,
  ...change
})

const failing = {
  attempts: 2,
  lastAttemptAt: at(-5_000),
  lastStatus: 500,
  lastError: 'the receiver answered 500'
}

test('delivered: when, and after how many attempts', () => {
  const words = deliveryInWords(
    delivery({ state: 'delivered', attempts: 3, deliveredAt: at(-1_000), lastStatus: 200 }),
    NOW
  )
  assert.equal(words.state, 'Delivered at 3 Dec 2026, 14:14:59 UTC (after 3 attempts).')
  assert.equal(words.failure, undefined)
  assert.equal(words.retryable, false)
  assert.match(
    deliveryInWords(delivery({ state: 'delivered', attempts: 1 }), NOW).state,
    /after 1 attempt\)/
  )
})

test('pending: waiting for its retry, with the last error; retry now is offered', () => {
  const words = deliveryInWords(delivery({ ...failing, nextAttemptAt: at(30_000) }), NOW)
  assert.equal(words.state, 'Waiting for a retry at 3 Dec 2026, 14:15:30 UTC (2 attempts so far).')
  assert.equal(
    words.failure,
    'Last attempt at 3 Dec 2026, 14:14:55 UTC: the receiver answered 500 (status 500).'
  )
  assert.equal(words.retryable, true)
})

test('pending: being tried now (a lease ahead) is not offered a retry; one run out is', () => {
  const leased = delivery({ ...failing, nextAttemptAt: at(-1), leasedUntil: at(10_000) })
  assert.match(deliveryInWords(leased, NOW).state, /^Being tried now/)
  assert.equal(deliveryInWords(leased, NOW).retryable, false)
  const lapsed = delivery({ ...failing, nextAttemptAt: at(-1), leasedUntil: at(-1) })
  assert.match(deliveryInWords(lapsed, NOW).state, /^To be tried again in a moment/)
  assert.equal(deliveryInWords(lapsed, NOW).retryable, true)
})

test('pending behind an earlier pending one: queued behind an earlier event of its grant (or tenant)', () => {
  const queued = deliveryInWords(delivery({ nextAttemptAt: at(-10_000), queued: true }), NOW)
  assert.equal(
    queued.state,
    'Queued behind an earlier event of its grant, which waits for its retry.'
  )
  assert.equal(queued.retryable, false)
  assert.match(
    deliveryInWords(delivery({ grantId: null, queued: true }), NOW).state,
    /of its tenant/
  )
})

test('given up: how many attempts, the last error and status; retry now is offered', () => {
  const words = deliveryInWords(delivery({ ...failing, state: 'failed', attempts: 4 }), NOW)
  assert.equal(words.state, 'Given up after 4 attempts.')
  assert.match(words.failure ?? '', /the receiver answered 500 \(status 500\)/)
  assert.equal(words.retryable, true)
  const noAnswer = delivery({
    ...failing,
    state: 'failed',
    lastStatus: null,
    lastError: 'timed out'
  })
  assert.match(deliveryInWords(noAnswer, NOW).failure ?? '', /: timed out\.$/)
})

test('a retry pressed on a given-up delivery starts its count afresh, its last error kept', () => {
  const words = deliveryInWords(delivery({ ...failing, attempts: 0, nextAttemptAt: at(-1) }), NOW)
  assert.equal(words.state, 'To be tried again in a moment.')
  assert.match(words.failure ?? '', /answered 500/)
})

test('an age in the largest unit it fills', () => {
  assert.equal(ageInWords(0.2), 'less than a second')
  assert.equal(ageInWords(1), '1 second')
  assert.equal(ageInWords(179), '2 minutes')
  assert.equal(ageInWords(7_200), '2 hours')
  assert.equal(ageInWords(86_400 * 3 + 5), '3 days')
})
