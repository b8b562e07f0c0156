import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { createContentDigest, defaultComponents, signMessage, verifyMessage } from './index.js'
import type { HttpMessage } from './index.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const NOW = 1_700_000_000
const POLICY = { now: NOW, maxAgeSeconds: 300 }

function jsonPost(): HttpMessage {
  const body = Buffer.from('{"access_token":{"access":[{"type":"incoming-payment"}]}}')
  return {
    method: 'post',
    targetUri: 'https://auth.example/tenant-7',
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'content-digest': createContentDigest(body, 'sha-256')
    },
    body
  }
}

test('signMessage round-trips through verifyMessage (POST with body)', async () => {
  const msg = jsonPost()
  const headers = signMessage(msg, { key: privateKey, keyid: 'client-key', created: NOW })
  const verified = await verifyMessage(
    { ...msg, headers: { ...msg.headers, ...headers } },
    async () => publicKey,
    POLICY
  )
  assert.deepEqual(verified, {
    label: 'sig1',
    keyid: 'client-key',
    created: NOW,
    components: ['@method', '@target-uri', 'content-digest', 'content-length', 'content-type'],
    signature: Buffer.from(/^sig1=:([^:]+):$/.exec(headers.signature)![1]!, 'base64')
  })
})

test('signMessage round-trips with a custom label and derived components', async () => {
  const msg: HttpMessage = {
    method: 'GET',
    targetUri: 'https://Auth.Example:8443/a/b?x=1',
    headers: { authorization: 'GNAP t', 'x-multi': ['one', ' two '] }
  }
  const components = [
    '@method',
    '@target-uri',
    '@authority',
    '@scheme',
    '@path',
    '@query',
    '@request-target',
    'authorization',
    'x-multi'
  ]
  const headers = signMessage(msg, {
    key: privateKey,
    keyid: 'k',
    created: NOW,
    label: 'op',
    components
  })
  const verified = await verifyMessage(
    { ...msg, headers: { ...msg.headers, ...headers } },
    async () => publicKey,
    POLICY
  )
  assert.equal(verified.label, 'op')
  assert.deepEqual(verified.components, components)
})

test('signMessage emits the SDK shape: keyid then created, label sig1', () => {
  const msg: HttpMessage = { method: 'GET', targetUri: 'https://auth.example/', headers: {} }
  const headers = signMessage(msg, { key: privateKey, keyid: 'k"1', created: NOW })
  assert.equal(
    headers['signature-input'],
    `sig1=("@method" "@target-uri");keyid="k\\"1";created=${NOW}`
  )
  assert.match(headers.signature, /^sig1=:[A-Za-z0-9+/]{86}==:$/)
})

test('defaultComponents covers what the Open Payments SDKs cover', () => {
  assert.deepEqual(defaultComponents({ method: 'GET', targetUri: 'https://a/', headers: {} }), [
    '@method',
    '@target-uri'
  ])
  const msg = jsonPost()
  msg.headers.authorization = 'GNAP t'
  assert.deepEqual(defaultComponents(msg), [
    '@method',
    '@target-uri',
    'authorization',
    'content-digest',
    'content-length',
    'content-type'
  ])
})

test('signMessage refuses a non-Ed25519 key and an invalid label', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const msg: HttpMessage = { method: 'GET', targetUri: 'https://auth.example/', headers: {} }
  assert.throws(() => signMessage(msg, { key: ec.privateKey, keyid: 'k', created: NOW }), TypeError)
  assert.throws(
    () => signMessage(msg, { key: privateKey, keyid: 'k', created: NOW, label: 'Sig1' }),
    TypeError
  )
})
