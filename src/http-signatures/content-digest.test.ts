import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createContentDigest, verifyContentDigest, SignatureError } from './index.js'
import type { SignatureErrorReason } from './index.js'

// RFC 9530 §2 / Appendix B examples.
const BODY = Buffer.from('{"hello": "world"}')
const SHA_256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
const SHA_512 =
  'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:'

function refusedWith(reason: SignatureErrorReason) {
  return (e: unknown) => e instanceof SignatureError && e.reason === reason
}

test('RFC 9530 known answers: createContentDigest of {"hello": "world"}', () => {
  assert.equal(createContentDigest(BODY, 'sha-256'), SHA_256)
  assert.equal(createContentDigest(BODY, 'sha-512'), SHA_512)
})

test('RFC 9530 known answers verify, alone and together', () => {
  verifyContentDigest(SHA_256, BODY)
  verifyContentDigest(SHA_512, BODY)
  verifyContentDigest(`${SHA_256}, ${SHA_512}`, BODY)
})

test('RFC 9530 §2: unknown algorithms are ignored when a known one matches', () => {
  verifyContentDigest(`md5=:AAAA:, ${SHA_512}`, BODY)
})

test('RFC 9530: a digest of other bytes is digest_mismatch', () => {
  assert.throws(
    () => verifyContentDigest(SHA_512, Buffer.from('{"hello": "world!"}')),
    refusedWith('digest_mismatch')
  )
})

test('RFC 9530: every known algorithm present must match', () => {
  const wrong256 = createContentDigest(Buffer.from('other'), 'sha-256')
  assert.throws(
    () => verifyContentDigest(`${wrong256}, ${SHA_512}`, BODY),
    refusedWith('digest_mismatch')
  )
})

test('RFC 9530: a truncated digest is digest_mismatch, not an exception', () => {
  assert.throws(() => verifyContentDigest('sha-256=:AAAA:', BODY), refusedWith('digest_mismatch'))
})

test('RFC 9530: only unknown algorithms is digest_unsupported', () => {
  assert.throws(
    () => verifyContentDigest('sha-1=:AAAA:, md5=:AAAA:', BODY),
    refusedWith('digest_unsupported')
  )
  assert.throws(() => verifyContentDigest('', BODY), refusedWith('digest_unsupported'))
})

test('RFC 9530: a Content-Digest that is not a dictionary of byte sequences is malformed', () => {
  for (const bad of [
    'sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=',
    'sha-512="abc"',
    '::',
    'SHA-256=:AA==:'
  ]) {
    assert.throws(() => verifyContentDigest(bad, BODY), refusedWith('malformed'), bad)
  }
})
