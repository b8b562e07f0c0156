import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkWebhooks } from '../../scripts/crash/webhooks.js'
import type { Snapshot } from '../../scripts/crash/snapshot.js'
import type { ReceivedWebhook } from '../helpers/webhook-receiver.js'

/** The crash test's webhook check finds what it exists to find (scripts/crash/webhooks.ts). */

const G = 'grant-1'
const db = {
  webhookEvents: [
    { id: '10', type: 'grant.issued', grantId: G },
    { id: '12', type: 'token.revoked', grantId: G }
  ]
} as unknown as Snapshot

const hook = (eventId: string, type: string, id: string, answered = 200): ReceivedWebhook => ({
  id,
  type,
  data: { auditEventId: eventId, grantId: G },
  headers: {},
  raw: '',
  signatureValid: true,
  answered
})

function violations(received: ReceivedWebhook[]): string[] {
  const found: string[] = []
  checkWebhooks(db, received, (ok, message) => {
    if (!ok) found.push(message())
    return ok
  })
  return found
}

const issued = hook('10', 'grant.issued', 'a')
const revoked = hook('12', 'access_token.revoked', 'b')

test('every event delivered once, in order: no violation; a repeat with its id is allowed', () => {
  assert.deepEqual(violations([issued, revoked]), [])
  assert.deepEqual(violations([{ ...issued, answered: 503 }, issued, revoked, revoked]), [])
})

test('a lost event, a stranger, a second id, the wrong order or a bad signature is found', () => {
  assert.match(violations([issued]).join(), /event 12 .* never delivered/)
  assert.match(violations([{ ...revoked, answered: 503 }, issued]).join(), /never delivered/)
  assert.match(
    violations([issued, revoked, hook('11', 'grant.revoked', 'c')]).join(),
    /event 11, never committed/
  )
  assert.match(violations([issued, { ...issued, id: 'z' }, revoked]).join(), /several ids/)
  assert.match(violations([revoked, issued]).join(), /in the order 12,10/)
  assert.match(violations([{ ...issued, signatureValid: false }, revoked]).join(), /signature/)
})
