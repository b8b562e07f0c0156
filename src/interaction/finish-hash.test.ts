import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { computeInteractHash } from './finish-hash.js'

/** The interaction finish hash (RFC 9635 §4.2.3) in Rafiki's encoding (behaviour §4.3). */

// The worked example of RFC 9635 §4.2.3.
const rfcExample = {
  clientNonce: 'VJLO6A4CATR0KRO',
  interactNonce: 'MBDOFXG4Y5CVJCX821LH',
  interactRef: '4IFWWIKYB2PQ6U56NL1',
  grantUri: 'https://server.example.com/tx'
}

// An opas-shaped input: hex interaction nonce, UUID ref, tenant grant endpoint.
const opasExample = {
  clientNonce: 'client-nonce-1',
  interactNonce: '0F1E2D3C4B5A69788796A5B4C3D2E1F0',
  interactRef: '5d0d7f3e-6c1b-4a8e-9f2d-3b4c5d6e7f80',
  grantUri: 'http://127.0.0.1:3006/8c3f2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b'
}

/** Computed here independently of the module: SHA-256, padded standard Base64. */
function expected(input: typeof rfcExample): string {
  const base = [input.clientNonce, input.interactNonce, input.interactRef, input.grantUri].join(
    '\n'
  )
  return createHash('sha256').update(base, 'utf8').digest('base64')
}

describe('computeInteractHash', () => {
  test("the RFC's worked example, in padded standard Base64 (the RFC's value is base64url)", () => {
    // Fixed literals: a change of algorithm, input order, separator or encoding fails here.
    const hash = computeInteractHash(rfcExample)
    assert.equal(hash, 'x+gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY=')
    assert.equal(hash, expected(rfcExample))
    // The same digest as the RFC's published `x-gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY`.
    assert.equal(
      Buffer.from(hash, 'base64').toString('base64url'),
      'x-gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY'
    )
  })

  test('an opas-shaped input: 44 characters, with + and / and = padding', () => {
    const hash = computeInteractHash(opasExample)
    assert.equal(hash, 'X+P8ifarsfuzdWkdo5h/yHY7wH7xRRoeReVyDGN8e2s=')
    assert.equal(hash, expected(opasExample))
    assert.equal(hash.length, 44)
    assert.match(hash, /^[A-Za-z0-9+/]{43}=$/)
  })

  test('hashes "clientNonce\\ninteractNonce\\nref\\ngrantUri" with no trailing newline', () => {
    const base = `${opasExample.clientNonce}\n${opasExample.interactNonce}\n${opasExample.interactRef}\n${opasExample.grantUri}`
    const hash = computeInteractHash(opasExample)
    assert.equal(hash, createHash('sha256').update(base).digest('base64'))
    assert.notEqual(hash, createHash('sha256').update(`${base}\n`).digest('base64'))
  })

  test('every input is bound: changing any one changes the hash', () => {
    const reference = computeInteractHash(opasExample)
    for (const key of Object.keys(opasExample) as (keyof typeof opasExample)[]) {
      const changed = computeInteractHash({ ...opasExample, [key]: `${opasExample[key]}x` })
      assert.notEqual(changed, reference, key)
      assert.equal(changed, expected({ ...opasExample, [key]: `${opasExample[key]}x` }))
    }
    // A trailing slash on the grant endpoint is a different endpoint.
    assert.notEqual(
      computeInteractHash({ ...opasExample, grantUri: `${opasExample.grantUri}/` }),
      reference
    )
    // Swapping the two nonces is not the same input.
    assert.notEqual(
      computeInteractHash({
        ...opasExample,
        clientNonce: opasExample.interactNonce,
        interactNonce: opasExample.clientNonce
      }),
      reference
    )
  })

  test('non-ASCII input is hashed as UTF-8', () => {
    const input = { ...rfcExample, clientNonce: 'nonce-é€' }
    assert.equal(computeInteractHash(input), expected(input))
  })
})
