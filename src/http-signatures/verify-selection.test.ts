import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { createSignatureBase, signMessage, verifyMessage, SignatureError } from './index.js'
import type { HttpMessage, SignatureErrorReason, VerifyPolicy } from './index.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const NOW = 1_700_000_000
const POLICY: VerifyPolicy = { now: NOW, maxAgeSeconds: 300 }

const DELETE: HttpMessage = {
  method: 'DELETE',
  targetUri: 'https://auth.example/token/abc',
  headers: { authorization: 'GNAP abc' }
}
const COVERED = ['@method', '@target-uri', 'authorization']

function withSignature(msg: HttpMessage, label = 'sig1', components = COVERED): HttpMessage {
  const headers = signMessage(msg, {
    key: privateKey,
    keyid: 'k1',
    created: NOW,
    label,
    components
  })
  return { ...msg, headers: { ...msg.headers, ...headers } }
}

function withHeaders(msg: HttpMessage, headers: HttpMessage['headers']): HttpMessage {
  return { ...msg, headers: { ...msg.headers, ...headers } }
}

async function refusedBeforeLookup(msg: HttpMessage, reason: SignatureErrorReason) {
  let calls = 0
  const lookup = async () => (calls++, publicKey)
  await assert.rejects(verifyMessage(msg, lookup, POLICY), (e: unknown) => {
    assert.ok(e instanceof SignatureError, String(e))
    assert.equal(e.reason, reason, e.message)
    return true
  })
  assert.equal(calls, 0, 'lookupKey must not be called')
}

test('missing Signature or Signature-Input is missing_headers, before any key lookup', async () => {
  const msg = withSignature(DELETE)
  await refusedBeforeLookup(withHeaders(msg, { signature: undefined }), 'missing_headers')
  await refusedBeforeLookup(withHeaders(msg, { 'signature-input': undefined }), 'missing_headers')
  await refusedBeforeLookup(withHeaders(msg, { signature: [] }), 'missing_headers')
})

test('unparseable Signature or Signature-Input is malformed, before any key lookup', async () => {
  const msg = withSignature(DELETE)
  await refusedBeforeLookup(withHeaders(msg, { 'signature-input': 'sig1=("@method"' }), 'malformed')
  await refusedBeforeLookup(withHeaders(msg, { signature: 'sig1=:not base64' }), 'malformed')
})

test('a Signature-Input label with no Signature member is malformed', async () => {
  const msg = withSignature(DELETE)
  const signature = (msg.headers.signature as string).replace('sig1=', 'other=')
  await refusedBeforeLookup(withHeaders(msg, { signature }), 'malformed')
})

test('RFC 9421 §2.1: upper-case component identifiers are malformed', async () => {
  const msg = withSignature(DELETE)
  const input = (msg.headers['signature-input'] as string).replace('"@method"', '"@Method"')
  await refusedBeforeLookup(withHeaders(msg, { 'signature-input': input }), 'malformed')
})

test('component parameters and unknown derived components are malformed', async () => {
  const msg = withSignature(DELETE)
  const input = msg.headers['signature-input'] as string
  for (const bad of [
    input.replace('"authorization"', '"authorization";sf'),
    input.replace(')', ' "@status")')
  ]) {
    await refusedBeforeLookup(withHeaders(msg, { 'signature-input': bad }), 'malformed')
  }
})

test('a covered header that is absent is missing_component, before any key lookup', async () => {
  const msg = withSignature(withHeaders(DELETE, { 'x-extra': '1' }), 'sig1', [
    ...COVERED,
    'x-extra'
  ])
  await refusedBeforeLookup(withHeaders(msg, { 'x-extra': undefined }), 'missing_component')
})

test('an Authorization header the signature does not cover is missing_component', async () => {
  const msg = withSignature({ ...DELETE, headers: {} }, 'sig1', ['@method', '@target-uri'])
  await refusedBeforeLookup(withHeaders(msg, { authorization: 'GNAP abc' }), 'missing_component')
})

test('a label other than sig1 verifies', async () => {
  const verified = await verifyMessage(
    withSignature(DELETE, 'gnap-sig'),
    async () => publicKey,
    POLICY
  )
  assert.equal(verified.label, 'gnap-sig')
})

test('the first label that covers the required components is chosen', async () => {
  const weak = withSignature(DELETE, 'weak', ['@method'])
  const strong = withSignature(DELETE, 'strong')
  const msg = withHeaders(DELETE, {
    'signature-input': [
      weak.headers['signature-input'] as string,
      strong.headers['signature-input'] as string
    ],
    signature: `${weak.headers.signature as string}, ${strong.headers.signature as string}`
  })
  const verified = await verifyMessage(msg, async () => publicKey, POLICY)
  assert.equal(verified.label, 'strong')
})

test('RFC 9421 §2.3: non-canonical Signature-Input text is signed and verified as received', async () => {
  const list = `( "@method"  "@target-uri" "authorization" );keyid="k1"; created=${NOW}`
  const base = createSignatureBase(DELETE, COVERED, list)
  const signature = sign(null, Buffer.from(base), privateKey).toString('base64')
  const msg = withHeaders(DELETE, {
    'signature-input': ` sig1=${list} `,
    signature: `sig1=:${signature}:`
  })
  const verified = await verifyMessage(msg, async () => publicKey, POLICY)
  assert.deepEqual(verified.components, COVERED)
})

test('a signature over the canonical serialization verifies when the field was reformatted', async () => {
  const msg = withSignature(DELETE)
  const input = (msg.headers['signature-input'] as string).replace(';created', '; created')
  await verifyMessage(withHeaders(msg, { 'signature-input': input }), async () => publicKey, POLICY)
})

test('a repeated dictionary key uses its last member, as RFC 8941 §4.2.2 parsing does', async () => {
  const msg = withSignature(DELETE)
  const input = `sig1=("@method");keyid="x";created=1, ${msg.headers['signature-input'] as string}`
  await verifyMessage(withHeaders(msg, { 'signature-input': input }), async () => publicKey, POLICY)
})
