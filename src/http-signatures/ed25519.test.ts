import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto'
import { ed25519Backend, verifyEd25519, verifyWithNodeCrypto, verifyWithSodium } from './ed25519.js'

// RFC 9421 Appendix B.1.4 (test-key-ed25519) and the B.2.6 signature base and signature.
const RFC_KEY = createPublicKey(
  [
    '-----BEGIN PUBLIC KEY-----',
    'MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=',
    '-----END PUBLIC KEY-----'
  ].join('\n')
)
const RFC_BASE = Buffer.from(
  [
    '"date": Tue, 20 Apr 2021 02:07:55 GMT',
    '"@method": POST',
    '"@path": /foo',
    '"@authority": example.com',
    '"content-type": application/json',
    '"content-length": 18',
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"'
  ].join('\n')
)
const RFC_SIGNATURE = Buffer.from(
  'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==',
  'base64'
)

// The order of the group: a signature whose S is S + L is the same point arithmetic but is not
// canonical (RFC 8032 §5.1.7 step 1 requires S < L).
const L = (1n << 252n) + 27742317777372353535851937790883648493n

function withNonCanonicalS(signature: Buffer): Buffer {
  const s = BigInt('0x' + Buffer.from(signature.subarray(32)).reverse().toString('hex')) + L
  const bytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse()
  return Buffer.concat([signature.subarray(0, 32), bytes])
}

const backends = [
  ['node:crypto', verifyWithNodeCrypto],
  ...(verifyWithSodium ? [['libsodium', verifyWithSodium] as const] : [])
] as const

test('libsodium is available on this platform (the fast path the benchmark measures)', () => {
  assert.ok(verifyWithSodium, 'sodium-native did not load')
  assert.equal(ed25519Backend, 'libsodium')
  assert.equal(verifyEd25519, verifyWithSodium)
})

for (const [name, verify] of backends) {
  test(`${name}: the RFC 9421 B.2.6 signature verifies; any change to it does not`, () => {
    assert.equal(verify(RFC_BASE, RFC_KEY, RFC_SIGNATURE), true)
    const tamperedBase = Buffer.from(RFC_BASE)
    tamperedBase[5] = tamperedBase[5]! ^ 1
    assert.equal(verify(tamperedBase, RFC_KEY, RFC_SIGNATURE), false)
    for (const index of [0, 31, 32, 63]) {
      const tampered = Buffer.from(RFC_SIGNATURE)
      tampered[index] = tampered[index]! ^ 0x10
      assert.equal(verify(RFC_BASE, RFC_KEY, tampered), false, `byte ${index}`)
    }
  })

  test(`${name}: another key, a wrong-length or non-canonical signature is refused, never thrown`, () => {
    const { publicKey: otherKey, privateKey } = generateKeyPairSync('ed25519')
    assert.equal(verify(RFC_BASE, otherKey, RFC_SIGNATURE), false)
    assert.equal(verify(RFC_BASE, RFC_KEY, RFC_SIGNATURE.subarray(0, 63)), false)
    assert.equal(verify(RFC_BASE, RFC_KEY, Buffer.concat([RFC_SIGNATURE, Buffer.of(0)])), false)
    assert.equal(verify(RFC_BASE, RFC_KEY, Buffer.alloc(0)), false)
    const own = sign(null, RFC_BASE, privateKey)
    assert.equal(verify(RFC_BASE, otherKey, own), true)
    assert.equal(verify(RFC_BASE, otherKey, withNonCanonicalS(own)), false)
  })
}

test('both implementations agree on random keys, messages and corrupted signatures', () => {
  if (!verifyWithSodium) return
  for (let i = 0; i < 200; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    const message = Buffer.from(`message ${i} ${'x'.repeat(i)}`)
    const signature = sign(null, message, privateKey)
    if (i % 2 === 1) signature[i % 64] = signature[i % 64]! ^ (1 << (i % 8))
    const expected = i % 2 === 0
    assert.equal(verifyWithNodeCrypto(message, publicKey, signature), expected)
    assert.equal(verifyWithSodium(message, publicKey, signature), expected)
  }
})
