import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { ClientKeyError } from './client-key-error.js'
import { importEd25519Jwk, parseJwks } from './jwk.js'

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = publicKey.export({ format: 'jwk' })
  return {
    privateKey,
    jwk: { kid: 'k1', alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  }
}

function isInvalidDocument(err: unknown): boolean {
  return err instanceof ClientKeyError && err.reason === 'invalid_document'
}

test('importEd25519Jwk imports a valid public JWK that verifies signatures', () => {
  const { privateKey, jwk } = keyPair()
  const key = importEd25519Jwk(jwk)
  assert.equal(key.type, 'public')
  assert.equal(key.asymmetricKeyType, 'ed25519')
  const data = Buffer.from('signature base')
  assert.equal(verify(null, data, key, sign(null, data, privateKey)), true)
})

test('importEd25519Jwk accepts a JWK without alg and use', () => {
  const { jwk } = keyPair()
  assert.equal(importEd25519Jwk({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }).type, 'public')
})

const { jwk: good } = keyPair()
const { privateKey: priv } = generateKeyPairSync('ed25519')
const bad: [string, unknown][] = [
  ['wrong crv', { ...good, crv: 'X25519' }],
  ['wrong kty', { ...good, kty: 'EC' }],
  ['wrong alg', { ...good, alg: 'ES256' }],
  ['wrong use', { ...good, use: 'enc' }],
  ['short x', { ...good, x: good.x?.slice(0, 42) }],
  ['long x', { ...good, x: `${good.x}A` }],
  ['x not base64url', { ...good, x: `${good.x?.slice(0, 42)}+` }],
  [
    'x non-canonical',
    { ...good, x: `${good.x?.slice(0, 42)}${good.x?.endsWith('B') ? 'C' : 'B'}` }
  ],
  ['missing x', { ...good, x: undefined }],
  ['private d', { ...priv.export({ format: 'jwk' }), alg: 'EdDSA' }],
  ['not an object', 'jwk'],
  ['null', null],
  ['array', [good]]
]

for (const [name, jwk] of bad) {
  test(`importEd25519Jwk refuses ${name} as invalid_document`, () => {
    assert.throws(() => importEd25519Jwk(jwk), isInvalidDocument)
  })
}

test('parseJwks keeps valid keys, skips invalid and duplicate ones', () => {
  const a = keyPair().jwk
  const b = keyPair().jwk
  const skipped: unknown[] = []
  const keys = parseJwks(
    {
      keys: [
        { ...a, kid: 'a' },
        { ...b, kid: 'bad', crv: 'P-256' },
        { ...b, kid: 'b' },
        { ...a, kid: 'b' },
        { ...a, kid: undefined },
        'junk'
      ]
    },
    'https://w.example/jwks.json',
    ({ kid }) => skipped.push(kid)
  )
  assert.deepEqual([...keys.keys()], ['a', 'b'])
  assert.equal(keys.get('b')?.export({ format: 'jwk' }).x, b.x)
  assert.deepEqual(skipped, ['bad', 'b', undefined, undefined])
})

for (const doc of [{}, { keys: {} }, [], null, 'keys', { keys: 'a' }]) {
  test(`parseJwks refuses ${JSON.stringify(doc)} as invalid_document`, () => {
    assert.throws(() => parseJwks(doc, 'u', () => {}), isInvalidDocument)
  })
}
