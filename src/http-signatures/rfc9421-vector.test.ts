import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey } from 'node:crypto'
import { createContentDigest, createSignatureBase, verifyMessage, SignatureError } from './index.js'
import type { HttpMessage } from './index.js'

// RFC 9421 Appendix B.1.4: test-key-ed25519 (public part).
const TEST_KEY_ED25519 = createPublicKey(
  [
    '-----BEGIN PUBLIC KEY-----',
    'MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=',
    '-----END PUBLIC KEY-----'
  ].join('\n')
)

// RFC 9421 Appendix B.2: the test-request message, with the B.2.6 signature fields added.
const SIGNATURE_PARAMS =
  '("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"'
const message: HttpMessage = {
  method: 'POST',
  targetUri: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest':
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
    'signature-input': `sig-b26=${SIGNATURE_PARAMS}`,
    signature:
      'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:'
  },
  body: Buffer.from('{"hello": "world"}')
}

// RFC 9421 Appendix B.2.6: the signature base, with the RFC 8792 line wrapping undone.
const EXPECTED_BASE = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  `"@signature-params": ${SIGNATURE_PARAMS}`
].join('\n')

const COMPONENTS = ['date', '@method', '@path', '@authority', 'content-type', 'content-length']
const lookupKey = async () => TEST_KEY_ED25519

test('RFC 9421 Appendix B.2.6 Ed25519 test vector: the signature base matches byte for byte', () => {
  assert.equal(createSignatureBase(message, COMPONENTS, SIGNATURE_PARAMS), EXPECTED_BASE)
})

test('RFC 9421 Appendix B.2.6 Ed25519 test vector: the signature verifies', async () => {
  const verified = await verifyMessage(message, lookupKey, {
    now: 1618884473,
    maxAgeSeconds: 300,
    requiredComponents: 'none'
  })
  assert.deepEqual(verified, {
    label: 'sig-b26',
    keyid: 'test-key-ed25519',
    created: 1618884473,
    components: COMPONENTS,
    signature: Buffer.from(
      'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==',
      'base64'
    )
  })
})

test('RFC 9421 Appendix B.2.6 test-request carries the RFC 9530 digest of its body', () => {
  assert.equal(
    createContentDigest(message.body as Buffer, 'sha-512'),
    message.headers['content-digest']
  )
})

test('RFC 9635 §7.3.1: the B.2.6 vector lacks @target-uri, so the default GNAP profile refuses it', async () => {
  await assert.rejects(
    verifyMessage(message, lookupKey, { now: 1618884473, maxAgeSeconds: 300 }),
    (e: unknown) => e instanceof SignatureError && e.reason === 'missing_component'
  )
})
