import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { secretMatchesHash } from '../gnap/secrets.js'
import { createSecretBox } from '../tenant/secret-box.js'
import { hashToken } from '../token/token-value.js'
import {
  mapAccess,
  mapAccessToken,
  mapGrant,
  mapInteraction,
  mapTenant,
  type Mapped,
  type RafikiGrant
} from './rafiki-rows.js'

/**
 * Issue 25: what each Rafiki row becomes in opas. Every id a client holds in a URL is kept;
 * no token or secret Rafiki kept in plain text reaches opas's database in plain text.
 */

const AUTH = 'https://auth.wallet.example'
const box = createSecretBox('tenant-secrets-key-for-the-import-tests')
const at = new Date('2026-01-02T03:04:05Z')

function rowOf<T>(mapped: Mapped<T>): { row: T; notes: string[] } {
  assert.ok('row' in mapped, `skipped: ${JSON.stringify(mapped)}`)
  return mapped
}
function reasonOf<T>(mapped: Mapped<T>): string {
  assert.ok('skipped' in mapped, 'expected a skip')
  return mapped.skipped.reason
}

const rafikiGrant = (over: Partial<RafikiGrant> = {}): RafikiGrant => ({
  id: randomUUID(),
  tenantId: randomUUID(),
  state: 'FINALIZED',
  finalizationReason: 'ISSUED',
  startMethod: ['redirect'],
  continueToken: '566A929A86BB3D4E3A9E',
  continueId: randomUUID(),
  finishMethod: 'redirect',
  finishUri: 'https://app.example/finish',
  clientNonce: 'client-nonce',
  client: 'https://wallet.example/app',
  jwk: null,
  lastContinuedAt: at,
  createdAt: at,
  updatedAt: at,
  ...over
})

test('a tenant: the IdP secret hashed, the API secret sealed for its id, deletion kept', () => {
  const id = randomUUID()
  const { row, notes } = rowOf(
    mapTenant(
      {
        id,
        idpConsentUrl: 'https://idp.example/consent',
        idpSecret: 'rafiki-idp-secret',
        apiSecret: 'rafiki-api-secret-of-this-tenant',
        createdAt: at,
        updatedAt: at,
        deletedAt: at
      },
      box.seal
    )
  )
  assert.ok(secretMatchesHash('rafiki-idp-secret', row.idp_secret_hash))
  assert.equal(box.open(row.api_secret_encrypted, id), 'rafiki-api-secret-of-this-tenant')
  assert.equal(row.deleted_at, at)
  assert.deepEqual(notes, [])
  const stored = JSON.stringify(row)
  assert.ok(!stored.includes('rafiki-idp-secret') && !stored.includes('rafiki-api-secret'))
})

test("a tenant's short API secret is kept (Rafiki's backend signs with it), with a note", () => {
  const { notes } = rowOf(
    mapTenant(
      {
        id: randomUUID(),
        idpConsentUrl: null,
        idpSecret: null,
        apiSecret: 'short',
        createdAt: at,
        updatedAt: at,
        deletedAt: null
      },
      box.seal
    )
  )
  assert.match(notes[0]!, /shorter than 20 characters: kept/)
})

test('a grant keeps its ids and its finish hash input; its continuation token becomes a hash', () => {
  const g = rafikiGrant({ client: 'HTTPS://Wallet.example/app/' })
  const { row } = rowOf(mapGrant(g, AUTH))
  assert.equal(row.id, g.id)
  assert.equal(row.continue_id, g.continueId)
  assert.deepEqual(row.continue_token_hash, hashToken('566A929A86BB3D4E3A9E'))
  assert.ok(!JSON.stringify(row).includes('566A929A86BB3D4E3A9E'))
  // Rafiki's finish hash covers AUTH_SERVER_URL/{tenantId}.
  assert.equal(row.grant_uri, `${AUTH}/${g.tenantId}`)
  assert.equal(row.client_nonce, 'client-nonce')
  assert.equal(row.client, 'https://wallet.example/app', 'in the one spelling opas searches')
  assert.equal(row.state, 'FINALIZED')
  assert.equal(row.finalization_reason, 'ISSUED')
})

test('a grant finalized before Rafiki recorded why is ISSUED, and says so', () => {
  const { row, notes } = rowOf(mapGrant(rafikiGrant({ finalizationReason: null }), AUTH))
  assert.equal(row.finalization_reason, 'ISSUED')
  assert.match(notes[0]!, /finalized without a recorded reason/)
})

test('a grant opas cannot carry over faithfully is skipped with its reason', () => {
  assert.match(reasonOf(mapGrant(rafikiGrant({ continueId: 'not-a-uuid' }), AUTH)), /continueId/)
  assert.match(reasonOf(mapGrant(rafikiGrant({ state: 'WAITING' }), AUTH)), /unknown state WAITING/)
  assert.match(
    reasonOf(mapGrant(rafikiGrant({ client: null, jwk: null }), AUTH)),
    /names no client/
  )
})

test('an access token keeps its manage URL id; its value becomes the hash opas looks up', () => {
  const managementId = randomUUID()
  const { row } = rowOf(
    mapAccessToken({
      id: randomUUID(),
      grantId: randomUUID(),
      value: 'F0E1D2C3B4A596870123',
      managementId,
      expiresIn: 600,
      revokedAt: null,
      createdAt: at
    })
  )
  assert.equal(row.management_id, managementId)
  assert.deepEqual(row.value_hash, hashToken('F0E1D2C3B4A596870123'))
  assert.ok(!JSON.stringify(row).includes('F0E1D2C3B4A596870123'))
})

test('an interaction keeps its id, nonce and ref; one opas cannot hold is skipped', () => {
  const i = {
    id: randomUUID(),
    grantId: randomUUID(),
    ref: randomUUID(),
    nonce: 'interaction-nonce',
    state: 'PENDING',
    expiresIn: 600,
    createdAt: at,
    updatedAt: at
  }
  const { row } = rowOf(mapInteraction(i))
  assert.deepEqual([row.id, row.nonce, row.ref, row.state], [i.id, i.nonce, i.ref, 'PENDING'])
  assert.match(reasonOf(mapInteraction({ ...i, ref: 'ref-1' })), /ref is not a UUID/)
  assert.match(reasonOf(mapInteraction({ ...i, state: 'EXPIRED' })), /unknown state EXPIRED/)
})

test('an access item keeps its limits as stored; an unknown type is skipped', () => {
  const limits = { debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 } }
  const a = {
    id: randomUUID(),
    grantId: randomUUID(),
    type: 'outgoing-payment',
    actions: ['create', 'read'],
    identifier: 'https://wallet.example/alice',
    limits,
    createdAt: at
  }
  const { row } = rowOf(mapAccess(a, 0))
  assert.deepEqual(row.limits, limits)
  assert.equal(row.position, 0)
  assert.match(reasonOf(mapAccess({ ...a, type: 'account' }, 1)), /unknown access type account/)
})
