import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { canonicalize } from 'json-canonicalize'
import { rafikiVerify } from '../../test/helpers/webhook-receiver.js'
import { afterFailure, retryDelayMs } from './delivery-schedule.js'
import { canonicalJson, signWebhook } from './webhook-signature.js'

const body = {
  id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  type: 'grant.revoked',
  data: { grantId: 'g', access: [{ type: 'incoming-payment', actions: ['read'] }], b: 1, a: 2 }
}

test("the header is Rafiki's: t=<ms>, v1=<hex HMAC-SHA256 of t.JCS(body)>", () => {
  const { json, header } = signWebhook(body, 'secret', 1_765_000_000_123)
  // The body as sent is the JCS form that was signed.
  assert.equal(json, canonicalize(body))
  const expected = createHmac('sha256', 'secret')
    .update(`1765000000123.${canonicalize(body)}`)
    .digest('hex')
  assert.equal(header, `t=1765000000123, v1=${expected}`)
  assert.ok(rafikiVerify(header, body, 'secret'), "Rafiki's check accepts it")
  // JCS: the receiver's parse, in any key order, checks the same.
  assert.ok(
    rafikiVerify(
      header,
      JSON.parse(JSON.stringify({ data: body.data, type: body.type, id: body.id })),
      'secret'
    )
  )
})

test('a changed body, another secret or another timestamp fails the check', () => {
  const { header } = signWebhook(body, 'secret', 1000)
  assert.equal(rafikiVerify(header, body, 'secret'), true)
  assert.equal(rafikiVerify(header, { ...body, type: 'grant.issued' }, 'secret'), false)
  assert.equal(rafikiVerify(header, body, 'other'), false)
  assert.equal(rafikiVerify(header.replace('t=1000', 't=1001'), body, 'secret'), false)
  assert.equal(rafikiVerify('t=1000, v2=00', body, 'secret'), false)
})

test('backoff: the first retry after the first delay, doubling, capped; given up after the last retry', () => {
  const policy = { maxRetries: 3, firstDelayMs: 10_000, maxDelayMs: 25_000 }
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelayMs(policy, n)),
    [10_000, 20_000, 25_000, 25_000]
  )
  assert.deepEqual(afterFailure(policy, 1, 0), {
    state: 'pending',
    nextAttemptAt: new Date(10_000)
  })
  assert.equal(afterFailure(policy, 3, 0).state, 'pending')
  assert.deepEqual(afterFailure(policy, 4, 0), { state: 'failed' })
  assert.deepEqual(afterFailure({ ...policy, maxRetries: 0 }, 1, 0), { state: 'failed' })
})

test("the body's canonical form is json-canonicalize's, for any body a webhook may hold", () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 5 })
    )
  })).value
  fc.assert(
    fc.property(
      fc.string(),
      fc.string(),
      fc.dictionary(fc.string({ unit: 'binary' }), json),
      (id, type, data) => {
        const body = { id, type, data }
        assert.equal(canonicalJson(body), canonicalize(body))
      }
    ),
    {
      numRuns: 500,
      examples: [
        // A key named __proto__ is data like any other.
        ['i', 't', { ['__proto__']: { b: 1, a: [2] } }],
        // Integer-like keys: JCS puts "10" before "9", and " " before both.
        ['i', 't', { a: { 9: 1, 10: 2, ' ': 3 }, 7: [{ 2: 0, 1: 0 }] }]
      ]
    }
  )
})

test('a body already in key order is serialized as it is, in the same JCS form', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string(), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 })),
      (data) => {
        // JSON.parse keeps the canonical form's order: every object in it is in key order.
        const ordered = JSON.parse(canonicalize({ id: 'i', type: 't', data }))
        assert.equal(canonicalJson(ordered), canonicalize(ordered))
      }
    ),
    { numRuns: 300 }
  )
})
