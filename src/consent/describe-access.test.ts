import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { describeAccess, describeInterval, formatAmount, formatDate } from './describe-access.js'

describe('formatAmount: the asset scale applied', () => {
  test('500 at scale 2 is USD 5.00', () => {
    assert.equal(formatAmount({ value: '500', assetCode: 'USD', assetScale: 2 }), 'USD 5.00')
  })
  test('small values keep their leading zeros after the point', () => {
    assert.equal(formatAmount({ value: '5', assetCode: 'EUR', assetScale: 3 }), 'EUR 0.005')
  })
  test('scale 0 has no point; thousands are separated', () => {
    assert.equal(
      formatAmount({ value: '1234567', assetCode: 'JPY', assetScale: 0 }),
      'JPY 1,234,567'
    )
  })
  test('uint64 values beyond 2^53 lose no digit', () => {
    assert.equal(
      formatAmount({ value: '18446744073709551615', assetCode: 'XRP', assetScale: 9 }),
      'XRP 18,446,744,073.709551615'
    )
  })
  test('leading zeros in the value are not digits of the amount', () => {
    assert.equal(formatAmount({ value: '000120', assetCode: 'USD', assetScale: 2 }), 'USD 1.20')
  })
})

describe('describeInterval: ISO 8601 repeating intervals in words', () => {
  test('the span and its end date, not a count that reads as so many payments', () => {
    assert.equal(
      describeInterval('R12/2026-12-03T00:00:00Z/P1M'),
      'each month, for 12 months, from 3 Dec 2026 to 3 Dec 2027'
    )
  })
  test('a start with a time of day shows it in UTC', () => {
    assert.equal(
      describeInterval('R11/2022-08-24T14:15:22Z/P1M'),
      'each month, for 11 months, from 24 Aug 2022, 14:15 UTC to 24 Jul 2023, 14:15 UTC'
    )
  })
  test('unbounded repetitions have no end; plural and composite durations', () => {
    assert.equal(describeInterval('R/2026-03-01T00:00:00Z/P2W'), 'every 2 weeks, from 1 Mar 2026')
    assert.equal(
      describeInterval('R-1/2026-03-01T00:00:00Z/P1M15D'),
      'every 1 month and 15 days, from 1 Mar 2026'
    )
    assert.equal(
      describeInterval('R3/2026-03-01T00:00:00Z/P2W'),
      'every 2 weeks, for 6 weeks, from 1 Mar 2026 to 12 Apr 2026'
    )
    assert.equal(
      describeInterval('R2/2026-03-01T00:00:00Z/P1M15D'),
      'every 1 month and 15 days, for 2 periods, from 1 Mar 2026 to 31 May 2026'
    )
  })
  test('a duration before an end counts back to its start', () => {
    assert.equal(
      describeInterval('R1/P1D/2026-02-01T00:00:00Z'),
      'each day, for 1 day, from 31 Jan 2026 to 1 Feb 2026'
    )
  })
  test('a month past a shorter month ends on its last day', () => {
    assert.equal(
      describeInterval('R1/2026-01-31T00:00:00Z/P1M'),
      'each month, for 1 month, from 31 Jan 2026 to 28 Feb 2026'
    )
  })
  test('start and end without a duration: between two dates', () => {
    assert.equal(
      describeInterval('R/2026-01-01T00:00:00Z/2026-06-30T00:00:00Z'),
      'between 1 Jan 2026 and 30 Jun 2026'
    )
  })
  test('formatDate: midnight UTC is a day, anything else has its UTC time', () => {
    assert.equal(formatDate(new Date('2026-12-31T00:00:00Z')), '31 Dec 2026')
    assert.equal(formatDate(new Date('2026-12-31T09:05:00Z')), '31 Dec 2026, 09:05 UTC')
  })
})

describe('describeAccess', () => {
  test('an outgoing payment: title, actions, wallet address and its limit in words', () => {
    assert.deepEqual(
      describeAccess({
        type: 'outgoing-payment',
        actions: ['create', 'read'],
        identifier: 'https://wallet.example/alice',
        limits: {
          debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 },
          interval: 'R12/2026-01-01T00:00:00Z/P1M'
        }
      }),
      {
        title: 'Send payments',
        actions: ['create payments', 'see the payments it made'],
        walletAddress: 'https://wallet.example/alice',
        limits: ['up to USD 5.00 each month, for 12 months, from 1 Jan 2026 to 1 Jan 2027']
      }
    )
  })
  test('receive amount and receiver are limits too', () => {
    const { limits } = describeAccess({
      type: 'outgoing-payment',
      actions: ['create'],
      identifier: 'https://wallet.example/alice',
      limits: {
        receiveAmount: { value: '400', assetCode: 'EUR', assetScale: 2 },
        receiver: 'https://wallet.example/bob/incoming-payments/1'
      }
    })
    assert.deepEqual(limits, [
      'up to EUR 4.00 received by the payee',
      'only to https://wallet.example/bob/incoming-payments/1'
    ])
  })
  test('an outgoing payment without limits says so; other types have none to state', () => {
    const outgoing = describeAccess({
      type: 'outgoing-payment',
      actions: ['create'],
      identifier: 'https://wallet.example/alice'
    })
    assert.deepEqual(outgoing.limits, ['no limit on the amount'])
    const incoming = describeAccess({ type: 'incoming-payment', actions: ['read-all', 'list'] })
    assert.deepEqual(incoming, {
      title: 'Receive payments',
      actions: [
        'see all incoming payments, including those other apps made',
        'list the incoming payments it made'
      ],
      walletAddress: undefined,
      limits: []
    })
  })
})
