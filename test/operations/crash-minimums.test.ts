import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Ledger } from '../../scripts/crash/ledger.js'
import { acknowledgedChanges, unmetMinimums } from '../../scripts/crash/minimums.js'
import type { PhaseResult } from '../../scripts/crash/phase.js'
import { emptyVerdict } from '../../scripts/crash/verify.js'

const token = (n: number) => ({ value: `token-${n}`, manage: `http://127.0.0.1/token/${n}` })
const answered = (status: number, body = '{}') =>
  ({ kind: 'answered', status, body, headers: {} }) as const

/** What a healthy run holds: one issued grant, one rotation, one kill with requests in flight. */
function healthy(): PhaseResult {
  const ledger = new Ledger()
  const root = {
    op: 'chain-grant' as const,
    identifier: 'http://127.0.0.1/account-c1',
    outcome: 'ok' as const,
    token: token(1)
  }
  ledger.grants.push(root)
  ledger.chains.push({
    root,
    tokens: [token(1), token(2)],
    attemptsOnNewest: [],
    lostThenAnswered: 0
  })
  return {
    kind: 'postgres',
    description: 'test',
    loadMs: 1000,
    concurrency: 3,
    ledger,
    kills: [
      { target: 'opas', atMs: 100, inFlight: 0, restartMs: 50 },
      { target: 'opas', atMs: 500, inFlight: 3, restartMs: 50 }
    ],
    restarts: 2,
    serverErrors: { count: 0, last: undefined },
    verdict: { ...emptyVerdict(), checks: 12 },
    failures: []
  }
}

test('a healthy run meets every minimum', () => {
  const result = healthy()
  assert.equal(acknowledgedChanges(result.ledger), 2)
  assert.deepEqual(unmetMinimums(result), [])
})

test('a run without an acknowledged change, or without a check, is reported', () => {
  const result = healthy()
  result.ledger.grants.length = 0
  result.ledger.chains.length = 0
  result.verdict.checks = 0
  const unmet = unmetMinimums(result)
  assert.equal(unmet.length, 2)
  assert.match(unmet[0]!, /no acknowledged change/)
  assert.match(unmet[1]!, /verification made no check/)
})

test('an answered continuation counts as an acknowledged change', () => {
  const result = healthy()
  result.ledger.grants.length = 0
  result.ledger.chains.length = 0
  result.ledger.flows.push({
    grant: { op: 'interactive-grant', identifier: 'http://127.0.0.1/account-i1', outcome: 'ok' },
    accepts: ['ok'],
    continues: ['ok'],
    token: token(3)
  })
  assert.deepEqual(unmetMinimums(result), [])
})

test('kills that all landed between requests are reported, as is a run without kills', () => {
  const result = healthy()
  result.kills.forEach((k) => (k.inFlight = 0))
  assert.deepEqual(unmetMinimums(result), [
    'no kill landed with requests in flight (in flight at each kill: 0, 0)'
  ])
  result.kills = []
  assert.deepEqual(unmetMinimums(result), [
    'no kill landed with requests in flight (in flight at each kill: no kill)'
  ])
})

test('every 5xx is reported with its operation and a sample body; 4xx are not', () => {
  const result = healthy()
  const { ledger } = result
  const is200 = (s: number) => s === 200
  ledger.record('rotate', answered(500, '{"error":\n "boom"}'), false, is200)
  ledger.record('rotate', answered(500), false, is200)
  ledger.record('continue', answered(503, 'down'), true, is200)
  ledger.record('rotate', answered(401), true, is200)
  assert.deepEqual(unmetMinimums(result), [
    'opas answered rotate 500 ×2, e.g. {"error": "boom"}',
    'opas answered continue 503 after ambiguous ×1, e.g. down'
  ])
})

test('error-level lines in the log of opas are reported with the last one', () => {
  const result = healthy()
  result.serverErrors = { count: 2, last: '{"level":50,"msg":"boom"}' }
  assert.deepEqual(unmetMinimums(result), [
    'opas logged 2 error-level lines, last: {"level":50,"msg":"boom"}'
  ])
})
