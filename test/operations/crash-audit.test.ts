import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkAuditTrail } from '../../scripts/crash/audit.js'
import type { GrantRow, Snapshot, TokenRow } from '../../scripts/crash/snapshot.js'

/**
 * The crash test's audit check (scripts/crash/audit.ts) catches each way the trail and the rows
 * could part after a kill: a committed change without its event, an event twice, an event of a
 * grant that was rolled back.
 */

const issuedInteractive: GrantRow = {
  id: 'g-interactive',
  continueId: 'c1',
  state: 'FINALIZED',
  reason: 'ISSUED',
  identifiers: []
}
const token = (rotated: boolean): TokenRow => ({
  grantId: issuedInteractive.id,
  hash: rotated ? 'b' : 'a',
  rotated,
  unrevoked: rotated,
  unexpired: true
})

function snapshot(events: string[], extra: Map<string, string[]> = new Map()): Snapshot {
  return {
    grants: [issuedInteractive],
    grantByContinueId: new Map([['c1', issuedInteractive]]),
    grantsByIdentifier: new Map(),
    grantById: new Map([[issuedInteractive.id, issuedInteractive]]),
    tokensByGrant: new Map([[issuedInteractive.id, [token(false), token(true)]]]),
    tokenByHash: new Map(),
    interactionStatesByGrant: new Map([[issuedInteractive.id, ['APPROVED']]]),
    finishedInteractionsByGrant: new Map([[issuedInteractive.id, 1]]),
    eventsByGrant: new Map([[issuedInteractive.id, events], ...extra]),
    webhookEvents: []
  }
}

const complete = [
  'grant.requested',
  'grant.approved',
  'grant.finished',
  'grant.continued',
  'grant.issued',
  'token.rotated'
]

function violations(db: Snapshot): string[] {
  const found: string[] = []
  checkAuditTrail(db, (ok, message) => {
    if (!ok) found.push(message())
    return ok
  })
  return found
}

test('a trail that matches the rows passes', () => {
  assert.deepEqual(violations(snapshot(complete)), [])
})

test('a committed change without its event is a violation', () => {
  const found = violations(snapshot(complete.filter((t) => t !== 'token.rotated')))
  assert.equal(found.length, 1)
  assert.match(found[0]!, /0 token\.rotated event\(s\), its rows say 1/)
})

test('an event written twice is a violation', () => {
  assert.match(violations(snapshot([...complete, 'grant.issued']))[0]!, /2 grant\.issued/)
})

test('an event of a grant that was never stored is a violation', () => {
  const found = violations(snapshot(complete, new Map([['g-rolled-back', ['grant.requested']]])))
  assert.equal(found.length, 1)
  assert.match(found[0]!, /g-rolled-back, which was never stored/)
})

test('a grant issued at once has one event, grant.issued; a grant.requested beside it is a violation', () => {
  const atOnce = { ...issuedInteractive, id: 'g-at-once' }
  const db = snapshot(complete)
  db.grants.push(atOnce)
  db.grantById.set(atOnce.id, atOnce)
  db.eventsByGrant.set(atOnce.id, ['grant.issued', 'token.rotated'])
  db.tokensByGrant.set(atOnce.id, [token(false), token(true)])
  assert.deepEqual(violations(db), [])
  db.eventsByGrant.set(atOnce.id, ['grant.requested', 'grant.issued', 'token.rotated'])
  const found = violations(db)
  assert.equal(found.length, 2, found.join('\n'))
  assert.match(found.join('\n'), /1 grant\.requested event\(s\), its rows say 0/)
  assert.match(found.join('\n'), /trail starts with grant\.requested, not grant\.issued/)
})
