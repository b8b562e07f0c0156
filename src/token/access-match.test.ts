import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AccessItem } from '../gnap/access.js'
import { matchAccess } from './access-match.js'

/** Rafiki's introspection matching (behaviour §8; access/utils.test.ts in §11). */

const ALICE = 'https://wallet.example/alice'
const BOB = 'https://wallet.example/bob'

const item = (
  type: AccessItem['type'],
  actions: string[],
  identifier?: string,
  limits?: AccessItem['limits']
): AccessItem => ({
  type,
  actions,
  ...(identifier !== undefined ? { identifier } : {}),
  ...(limits !== undefined ? { limits } : {})
})

const limits = {
  receiver: 'https://wallet.example/bob/incoming-payments/1',
  debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 },
  interval: 'R12/2022-08-24T14:15:22Z/P1M'
}

/** One requested item against the grant: the matched granted item, or undefined. */
const matchOne = (requested: AccessItem, granted: AccessItem[]) => {
  const result = matchAccess([requested], granted)
  assert.ok(result.length <= 1)
  return result[0]
}

describe('matchAccess: one requested item', () => {
  test('an exact match returns the stored item', () => {
    const granted = item('incoming-payment', ['create', 'read'], ALICE)
    assert.equal(matchOne(item('incoming-payment', ['create', 'read'], ALICE), [granted]), granted)
  })

  test('a subset of the actions matches and returns the full stored item', () => {
    const granted = item('outgoing-payment', ['create', 'read', 'list'], ALICE)
    assert.deepEqual(matchOne(item('outgoing-payment', ['read'], ALICE), [granted]), granted)
  })

  test('action order does not matter', () => {
    const granted = item('incoming-payment', ['read', 'create', 'complete'], ALICE)
    const requested = item('incoming-payment', ['complete', 'create', 'read'], ALICE)
    assert.equal(matchOne(requested, [granted]), granted)
  })

  test('read is satisfied by read-all, list by list-all, not the other way round', () => {
    const wide = item('incoming-payment', ['read-all', 'list-all'], ALICE)
    assert.equal(matchOne(item('incoming-payment', ['read', 'list'], ALICE), [wide]), wide)
    const narrow = item('incoming-payment', ['read', 'list'], ALICE)
    assert.equal(matchOne(item('incoming-payment', ['read-all'], ALICE), [narrow]), undefined)
    assert.equal(matchOne(item('incoming-payment', ['list-all'], ALICE), [narrow]), undefined)
    // read-all does not imply list, nor list-all read.
    assert.equal(
      matchOne(item('incoming-payment', ['list'], ALICE), [
        item('incoming-payment', ['read-all'], ALICE)
      ]),
      undefined
    )
    assert.equal(
      matchOne(item('incoming-payment', ['read'], ALICE), [
        item('incoming-payment', ['list-all'], ALICE)
      ]),
      undefined
    )
  })

  test('a missing action fails', () => {
    const granted = item('incoming-payment', ['read'], ALICE)
    assert.equal(
      matchOne(item('incoming-payment', ['read', 'create'], ALICE), [granted]),
      undefined
    )
    assert.equal(matchOne(item('quote', ['create'], ALICE), [item('quote', ['read'])]), undefined)
  })

  test('a granted item without an identifier matches any identifier', () => {
    const granted = item('incoming-payment', ['create', 'read'])
    assert.equal(matchOne(item('incoming-payment', ['create'], BOB), [granted]), granted)
    assert.equal(matchOne(item('incoming-payment', ['create'], ALICE), [granted]), granted)
  })

  test('an identifier mismatch fails', () => {
    const granted = item('outgoing-payment', ['create'], ALICE)
    assert.equal(matchOne(item('outgoing-payment', ['create'], BOB), [granted]), undefined)
    // Compared as exact strings.
    assert.equal(matchOne(item('outgoing-payment', ['create'], `${ALICE}/`), [granted]), undefined)
  })

  test('a request without an identifier matches', () => {
    const granted = item('outgoing-payment', ['create', 'read'], ALICE)
    assert.equal(matchOne(item('outgoing-payment', ['create']), [granted]), granted)
  })

  test('a type mismatch fails', () => {
    const granted = item('incoming-payment', ['create', 'read'], ALICE)
    assert.equal(matchOne(item('outgoing-payment', ['create'], ALICE), [granted]), undefined)
    assert.equal(matchOne(item('quote', ['create']), [granted]), undefined)
  })

  test('requested limits must deep-equal the granted ones', () => {
    const granted = item('outgoing-payment', ['create'], ALICE, limits)
    // Same content, other key order and fresh objects.
    const same = {
      interval: limits.interval,
      debitAmount: { assetScale: 2, assetCode: 'USD', value: '500' },
      receiver: limits.receiver
    }
    assert.equal(matchOne(item('outgoing-payment', ['create'], ALICE, same), [granted]), granted)
    for (const other of [
      { ...limits, interval: 'R1/2022-08-24T14:15:22Z/P1M' },
      { ...limits, debitAmount: { ...limits.debitAmount, value: '501' } },
      { receiver: limits.receiver, debitAmount: limits.debitAmount },
      { ...limits, receiveAmount: limits.debitAmount }
    ]) {
      assert.equal(
        matchOne(item('outgoing-payment', ['create'], ALICE, other), [granted]),
        undefined
      )
    }
    // A grant without limits does not satisfy a request naming limits.
    const unlimited = item('outgoing-payment', ['create'], ALICE)
    assert.equal(
      matchOne(item('outgoing-payment', ['create'], ALICE, limits), [unlimited]),
      undefined
    )
    // A request without limits ignores the granted ones.
    assert.equal(matchOne(item('outgoing-payment', ['create'], ALICE), [granted]), granted)
  })
})

describe('matchAccess: several items', () => {
  test('the first granted item that matches wins, per requested item', () => {
    const first = item('incoming-payment', ['read', 'create'])
    const second = item('incoming-payment', ['read'], ALICE)
    assert.deepEqual(matchAccess([item('incoming-payment', ['read'], ALICE)], [first, second]), [
      first
    ])
    assert.deepEqual(matchAccess([item('incoming-payment', ['read'], ALICE)], [second, first]), [
      second
    ])
  })

  test('only the requested item is returned when the grant has several', () => {
    const inc = item('incoming-payment', ['create', 'read'])
    const q = item('quote', ['create', 'read'])
    assert.deepEqual(matchAccess([item('quote', ['create'])], [inc, q]), [q])
  })

  test('unmatched requested items are dropped; the order of the request is kept', () => {
    const inc = item('incoming-payment', ['create', 'read'])
    const q = item('quote', ['create'])
    const result = matchAccess(
      [
        item('quote', ['create']),
        item('outgoing-payment', ['create'], ALICE),
        item('incoming-payment', ['read'], BOB)
      ],
      [inc, q]
    )
    assert.deepEqual(result, [q, inc])
  })

  test('the same granted item can answer two requested items', () => {
    const inc = item('incoming-payment', ['create', 'read'])
    assert.deepEqual(
      matchAccess(
        [item('incoming-payment', ['create']), item('incoming-payment', ['read'])],
        [inc]
      ),
      [inc, inc]
    )
  })

  test('nothing requested or nothing granted: nothing matched', () => {
    assert.deepEqual(matchAccess([], [item('quote', ['create'])]), [])
    assert.deepEqual(matchAccess([item('quote', ['create'])], []), [])
  })
})
