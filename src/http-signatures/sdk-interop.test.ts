import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { createHeaders } from '@interledger/http-signature-utils'
import { verifyMessage } from './index.js'
import type { HttpMessage } from './index.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const KEY_ID = 'https://wallet.example/alice/jwks.json#key-1'

function lowerCase(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = value
  }
  return out
}

// The SDK's clock is the wall clock, so the policy uses it too.
const policy = () => ({ now: Math.floor(Date.now() / 1000), maxAgeSeconds: 300 })

test('a POST with a JSON body and Authorization signed by the Open Payments SDK verifies', async () => {
  const url = 'https://auth.example/tenant-1/continue/abc?x=1'
  const body = JSON.stringify({ interact_ref: 'ref', amount: { value: '100', assetCode: 'USD' } })
  const requestHeaders = { Authorization: 'GNAP 8f2a0c7b', 'Content-Type': 'application/json' }
  const signed = await createHeaders({
    request: { method: 'POST', url, headers: requestHeaders, body },
    privateKey,
    keyId: KEY_ID
  })
  const msg: HttpMessage = {
    method: 'POST',
    targetUri: url,
    headers: lowerCase({ ...requestHeaders, ...signed }),
    body: Buffer.from(body)
  }
  let looked = ''
  const verified = await verifyMessage(
    msg,
    async (keyid) => {
      looked = keyid
      return publicKey
    },
    policy()
  )
  assert.equal(looked, KEY_ID)
  assert.equal(verified.label, 'sig1')
  assert.equal(verified.keyid, KEY_ID)
  assert.deepEqual(verified.components, [
    '@method',
    '@target-uri',
    'authorization',
    'content-digest',
    'content-length',
    'content-type'
  ])
})

test('a DELETE with Authorization and no body signed by the Open Payments SDK verifies', async () => {
  const url = 'https://auth.example/token/3b1f'
  const requestHeaders = { Authorization: 'GNAP 0c1d2e3f' }
  const signed = await createHeaders({
    request: { method: 'DELETE', url, headers: requestHeaders },
    privateKey,
    keyId: KEY_ID
  })
  const msg: HttpMessage = {
    method: 'DELETE',
    targetUri: url,
    headers: lowerCase({ ...requestHeaders, ...signed })
  }
  const verified = await verifyMessage(msg, async () => publicKey, policy())
  assert.deepEqual(verified.components, ['@method', '@target-uri', 'authorization'])
})
