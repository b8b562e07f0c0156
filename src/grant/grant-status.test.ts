import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  grantStatuses,
  rawStateOf,
  statusesNamed,
  statusOf,
  statusWords,
  tokenStatusOf
} from './grant-status.js'

describe('statusOf', () => {
  test('each state, and a finalized grant by its reason and its tokens', () => {
    const of = (
      state: 'PENDING' | 'APPROVED' | 'PROCESSING' | 'FINALIZED',
      finalizationReason: 'ISSUED' | 'REVOKED' | 'REJECTED' | null,
      hasLiveToken = false
    ) => statusOf({ state, finalizationReason, hasLiveToken })
    assert.equal(of('PENDING', null), 'pending')
    assert.equal(of('APPROVED', null), 'approved')
    assert.equal(of('PROCESSING', null), 'processing')
    assert.equal(of('FINALIZED', 'ISSUED', true), 'issued')
    assert.equal(of('FINALIZED', 'ISSUED', false), 'inactive', 'no live token: not "holds a token"')
    assert.equal(of('FINALIZED', 'REVOKED'), 'revoked')
    assert.equal(of('FINALIZED', 'REJECTED'), 'rejected')
    // A revoked grant's tokens are revoked with it; a live one would not make it issued.
    assert.equal(of('FINALIZED', 'REVOKED', true), 'revoked')
  })

  test('every status has a label and a meaning; the raw state stays readable', () => {
    for (const status of grantStatuses) {
      assert.ok(statusWords[status].label && statusWords[status].meaning, status)
    }
    assert.equal(
      rawStateOf({ state: 'FINALIZED', finalizationReason: 'ISSUED' }),
      'FINALIZED (ISSUED)'
    )
    assert.equal(rawStateOf({ state: 'PENDING', finalizationReason: null }), 'PENDING')
  })
})

describe('statusesNamed (the CLI --state)', () => {
  test('a status in any case, or a raw state; anything else is not a status', () => {
    assert.deepEqual(statusesNamed('issued'), ['issued'])
    assert.deepEqual(statusesNamed('ISSUED'), ['issued'])
    assert.deepEqual(statusesNamed('Inactive'), ['inactive'])
    assert.deepEqual(statusesNamed('pending'), ['pending'])
    assert.deepEqual(statusesNamed('FINALIZED'), ['issued', 'inactive', 'revoked', 'rejected'])
    assert.deepEqual(statusesNamed('finalized'), ['issued', 'inactive', 'revoked', 'rejected'])
    for (const word of ['DONE', '', 'constructor', 'toString', 'CONSTRUCTOR', '__proto__']) {
      assert.equal(statusesNamed(word), undefined, word)
    }
  })
})

describe('tokenStatusOf', () => {
  test('live, rotated, revoked, expired', () => {
    const at = new Date('2025-03-01T10:00:00Z')
    assert.equal(tokenStatusOf({ revokedAt: null, replacedBy: null, expired: false }), 'live')
    assert.equal(tokenStatusOf({ revokedAt: null, replacedBy: null, expired: true }), 'expired')
    assert.equal(tokenStatusOf({ revokedAt: at, replacedBy: null, expired: false }), 'revoked')
    assert.equal(tokenStatusOf({ revokedAt: at, replacedBy: 'next', expired: true }), 'rotated')
  })
})
