import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, test } from 'node:test'
import { parseSignatureInput, parseSignatureValues } from './signature-fields.js'
import { SignatureError, verifyMessage } from './index.js'
import type { HttpMessage } from './index.js'

/** The component names of a parsed Signature-Input member. */
function componentsOf(field: string, label = 'sig1'): unknown[] {
  const member = parseSignatureInput(field).get(label)
  assert.ok(member && Array.isArray(member[0]))
  return member[0].map(([value]) => value)
}

const refusedAs = (reason: string) => (err: unknown) =>
  err instanceof SignatureError && err.reason === reason

describe('Signature-Input, as the SDKs write it', () => {
  test('RFC 8941 quoted items (TypeScript, Go, .NET, PHP)', () => {
    const field = 'sig1=("@method" "@target-uri");keyid="k";created=1'
    assert.deepEqual(componentsOf(field), ['@method', '@target-uri'])
  })

  test('bare items (Rust), with their parameters intact', () => {
    const field = 'sig1=(@method @target-uri content-type);created=1700000000;keyid="k"'
    assert.deepEqual(componentsOf(field), ['@method', '@target-uri', 'content-type'])
    const params = parseSignatureInput(field).get('sig1')![1]
    assert.equal(params.get('created'), 1700000000)
    assert.equal(params.get('keyid'), 'k')
  })

  test('quoted and bare items mixed, extra white space, parentheses inside a keyid', () => {
    const field = 'sig1=( "@method"  @target-uri );keyid="https://w/(1)";created=1'
    assert.deepEqual(componentsOf(field), ['@method', '@target-uri'])
    assert.equal(parseSignatureInput(field).get('sig1')![1].get('keyid'), 'https://w/(1)')
  })

  test('an empty list stays empty', () => {
    assert.deepEqual(componentsOf('sig1=();created=1'), [])
  })

  for (const field of [
    'sig1=(@Method);created=1', // names are lower case (RFC 9421 §2.1)
    'sig1=(@method @@x);created=1',
    'sig1=(@method;created=1',
    'sig1=(@method "unterminated);created=1',
    'sig1=(@method) garbage'
  ]) {
    test(`refused: ${field}`, () => {
      assert.throws(() => parseSignatureInput(field), refusedAs('malformed'))
    })
  }
})

describe('Signature, as the SDKs write it', () => {
  const bytes = Buffer.alloc(64, 7)
  const b64 = bytes.toString('base64')

  test('an RFC 8941 byte sequence (TypeScript, Go, .NET)', () => {
    assert.deepEqual(parseSignatureValues(`sig1=:${b64}:`).byLabel.get('sig1'), bytes)
  })

  test('label=base64 without colons (PHP), any label, several members', () => {
    const values = parseSignatureValues(`sig1=${b64}, other=:${b64}:`)
    assert.deepEqual(values.byLabel.get('sig1'), bytes)
    assert.deepEqual(values.byLabel.get('other'), bytes)
  })

  test('bare base64 without a label (Rust)', () => {
    const values = parseSignatureValues(b64)
    assert.equal(values.byLabel.size, 0)
    assert.deepEqual(values.unlabelled, bytes)
  })

  for (const field of ['sig1=:not base64:', `${b64}, ${b64}`, `Sig1=${b64}`, `=${b64}`]) {
    test(`refused: ${field.slice(0, 24)}…`, () => {
      assert.throws(() => parseSignatureValues(field), refusedAs('malformed'))
    })
  }
})

describe('verifyMessage across the syntaxes', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const now = 1_700_000_000
  const policy = { now, maxAgeSeconds: 300 }
  const msg = (headers: Record<string, string>): HttpMessage => ({
    method: 'POST',
    targetUri: 'https://auth.example/token/1',
    headers: { authorization: 'GNAP t', 'content-type': 'application/json', ...headers }
  })
  const verify = (headers: Record<string, string>) =>
    verifyMessage(msg(headers), async () => publicKey, policy)
  /** Base64 Ed25519 over the base of msg() for `params`, covering `@method @target-uri` and more. */
  function signBase(params: string, more: string[]): string {
    const base = [
      '"@method": POST',
      '"@target-uri": https://auth.example/token/1',
      ...more,
      `"@signature-params": ${params}`
    ].join('\n')
    return sign(null, Buffer.from(base), privateKey).toString('base64')
  }
  const authorizationLine = '"authorization": GNAP t'
  // The Rust SDK's base: quoted component lines, but its `@signature-params` line is its
  // Signature-Input exactly, names unquoted.
  const rustParams = `(@method @target-uri content-type authorization);created=${now};keyid="k"`
  const rustSignature = signBase(rustParams, [
    '"content-type": application/json',
    authorizationLine
  ])

  test('a Rust-style request (bare names, bare base64) verifies over the params as sent', async () => {
    const verified = await verify({
      'signature-input': `sig1=${rustParams}`,
      signature: rustSignature
    })
    assert.deepEqual(verified.components, [
      '@method',
      '@target-uri',
      'content-type',
      'authorization'
    ])
    assert.equal(verified.nonce, undefined)
  })

  test('a bare signature is refused when Signature-Input has two members', async () => {
    const input = `sig1=${rustParams}, sig2=${rustParams}`
    await assert.rejects(
      verify({ 'signature-input': input, signature: rustSignature }),
      refusedAs('malformed')
    )
  })

  test('the same base with the params quoted is another signature base', async () => {
    const quoted = rustParams.replace(
      /\(.*\)/,
      '("@method" "@target-uri" "content-type" "authorization")'
    )
    await assert.rejects(
      verify({ 'signature-input': `sig1=${quoted}`, signature: rustSignature }),
      refusedAs('bad_signature')
    )
  })

  test('a nonce is returned, and must be a non-empty string', async () => {
    const params = `("@method" "@target-uri" "authorization");created=${now};keyid="k";nonce="n1"`
    const signature = `sig1=:${signBase(params, [authorizationLine])}:`
    const verified = await verify({ 'signature-input': `sig1=${params}`, signature })
    assert.equal(verified.nonce, 'n1')
    await assert.rejects(
      verify({ 'signature-input': `sig1=${params.replace('"n1"', '1')}`, signature }),
      refusedAs('malformed')
    )
  })

  test('a bodiless request may carry an uncovered digest of the empty body, and no other', async () => {
    const params = `("@method" "@target-uri" "authorization");keyid="k";created=${now}`
    const signature = `sig1=${signBase(params, [authorizationLine])}`
    const empty =
      'sha-512=:z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==:'
    const headers = { 'signature-input': `sig1=${params}`, signature, 'content-length': '0' }
    await verify({ ...headers, 'content-digest': empty })
    const other = `sha-512=:${Buffer.alloc(64).toString('base64')}:`
    await assert.rejects(
      verify({ ...headers, 'content-digest': other }),
      refusedAs('digest_mismatch')
    )
  })
})
