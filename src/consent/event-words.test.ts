import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventTypes } from '../audit/events.js'
import {
  actorInWords,
  detailsInWords,
  eventSentence,
  eventTitle,
  eventTypeGroups
} from './event-words.js'

const TENANT = '0190c6a2-7b1e-7c3d-9a4f-5e6d7c8b9a0f'

test('who acted, in words, for every kind of actor', () => {
  const cases: [string, string | null, string][] = [
    ['client', 'https://wallet.example/app', 'the client https://wallet.example/app'],
    ['client', 'jwk:abc', 'the client known by its key abc'],
    ['account-holder', null, 'the account holder'],
    ['idp', TENANT, `the IdP of tenant ${TENANT}`],
    ['admin-api', TENANT, `operator via admin API (tenant ${TENANT})`],
    ['service-api', null, 'the wallet backend via the service API'],
    ['console', TENANT, `console user (tenant ${TENANT})`],
    ['console', null, 'someone at the console (with an id that is no tenant)'],
    ['cli', 'root@host', 'CLI root@host'],
    ['retention', null, 'the retention job'],
    ['martian', 'x', 'martian x']
  ]
  for (const [actorKind, actor, words] of cases) {
    assert.equal(actorInWords({ actorKind: actorKind as 'client', actor }), words)
  }
})

test("an event in its grant's story: what, by whom, from where", () => {
  assert.equal(
    eventSentence({
      type: 'grant.revoked',
      actorKind: 'console',
      actor: TENANT,
      remoteAddress: '127.0.0.1'
    }),
    `Revoked by console user (tenant ${TENANT}) from 127.0.0.1`
  )
  assert.equal(
    eventSentence({
      type: 'token.rotated',
      actorKind: 'client',
      actor: 'https://a.example',
      remoteAddress: null
    }),
    'Token rotated by the client https://a.example'
  )
})

test('every event type has a title, and falls in exactly one group', () => {
  for (const type of eventTypes) assert.notEqual(eventTitle(type), type)
  assert.equal(eventTitle('grant.exploded'), 'grant.exploded')
  const grouped = eventTypeGroups.flatMap((g) => g.types)
  assert.deepEqual([...grouped].sort(), [...eventTypes].sort())
})

test("details in words: a tenant's fields (never a secret), a purge, a grant's access", () => {
  assert.equal(
    detailsInWords({
      type: 'tenant.updated',
      details: {
        fields: ['idpConsentUrl', 'apiSecret'],
        cleared: ['idpSecret'],
        idpConsentUrl: 'https://idp.example/c'
      }
    }),
    'set IdP consent URL to https://idp.example/c, API secret; removed IdP secret'
  )
  assert.equal(
    detailsInWords({
      type: 'tenant.created',
      details: { fields: ['apiSecret'], apiSecret: 'generated' }
    }),
    'set API secret (generated)'
  )
  assert.equal(
    detailsInWords({ type: 'grant.purged', details: { why: 'abandoned' } }),
    'never finished, past its retention period'
  )
  assert.match(
    detailsInWords({
      type: 'grant.requested',
      details: {
        access: [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: null }]
      }
    }),
    /^asked for Receive payments \(.+\)$/
  )
  assert.equal(
    detailsInWords({ type: 'grant.issued', details: { continuation: 'poll', token: true } }),
    'with an access token'
  )
  assert.match(
    detailsInWords({
      type: 'grant.issued',
      details: { access: [{ type: 'quote', actions: ['read'], identifier: null }] }
    }),
    /^at once, no consent needed: asked for .+$/,
    'issued at once: its one event says what was asked'
  )
  assert.equal(
    detailsInWords({
      type: 'grant.continued',
      details: { continuation: 'interact_ref', token: true }
    }),
    'after the account holder answered'
  )
  assert.equal(
    detailsInWords({
      type: 'grant.finished',
      details: { decision: 'rejected', returnedBy: 'redirect' }
    }),
    'rejected, sent back to the app'
  )
  // What it does not know, it shows as it is; nothing, as nothing.
  assert.equal(
    detailsInWords({ type: 'grant.requested', details: { access: 'odd' } }),
    'access: odd'
  )
  assert.equal(detailsInWords({ type: 'grant.revoked', details: {} }), '')
})
