import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import {
  createContentDigest,
  createSignatureBase,
  signMessage,
  verifyMessage,
  SignatureError
} from './index.js'
import type { HttpMessage, SignatureErrorReason, VerifyPolicy } from './index.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const NOW = 1_700_000_000
const POLICY: VerifyPolicy = { now: NOW, maxAgeSeconds: 300 }

function post(body = '{"amount":"100"}'): HttpMessage {
  const bytes = Buffer.from(body)
  return {
    method: 'POST',
    targetUri: 'https://auth.example/tenant/continue/1',
    headers: {
      authorization: 'GNAP 8f2a0c7b',
      'content-type': 'application/json',
      'content-length': String(bytes.length),
      'content-digest': createContentDigest(bytes, 'sha-512')
    },
    body: bytes
  }
}

function signed(msg: HttpMessage, opts: { created?: number; components?: string[] } = {}) {
  const headers = signMessage(msg, { key: privateKey, keyid: 'k1', created: NOW, ...opts })
  return { ...msg, headers: { ...msg.headers, ...headers } }
}

/** Signs with hand-written signature parameters, e.g. to add `alg`, `tag` or drop `keyid`. */
function signedWithParams(msg: HttpMessage, components: string[], params: string): HttpMessage {
  const list = `(${components.map((c) => `"${c}"`).join(' ')})${params}`
  const base = createSignatureBase(msg, components, list)
  const signature = sign(null, Buffer.from(base), privateKey).toString('base64')
  return {
    ...msg,
    headers: { ...msg.headers, 'signature-input': `sig1=${list}`, signature: `sig1=:${signature}:` }
  }
}

function counting(key: KeyObject = publicKey) {
  const state = { calls: 0, lookup: async () => (state.calls++, key) }
  return state
}

async function refuses(
  msg: HttpMessage,
  reason: SignatureErrorReason,
  opts: { lookupCalls?: number } = {}
) {
  const keys = counting()
  await assert.rejects(verifyMessage(msg, keys.lookup, POLICY), (e: unknown) => {
    assert.ok(e instanceof SignatureError, String(e))
    assert.equal(e.reason, reason, e.message)
    return true
  })
  if (opts.lookupCalls !== undefined) assert.equal(keys.calls, opts.lookupCalls)
}

const ALL = [
  '@method',
  '@target-uri',
  'authorization',
  'content-digest',
  'content-length',
  'content-type'
]
const without = (name: string) => ALL.filter((c) => c !== name)

test('a tampered body is digest_mismatch, before any key lookup', async () => {
  const msg = signed(post())
  await refuses({ ...msg, body: Buffer.from('{"amount":"999"}') }, 'digest_mismatch', {
    lookupCalls: 0
  })
})

test('a signature by another key with the same keyid is bad_signature', async () => {
  const other = generateKeyPairSync('ed25519')
  const msg = signed(post())
  await assert.rejects(
    verifyMessage(msg, async () => other.publicKey, POLICY),
    (e: unknown) => e instanceof SignatureError && e.reason === 'bad_signature'
  )
})

test('a changed covered header is bad_signature', async () => {
  const msg = signed(post())
  await refuses(
    { ...msg, headers: { ...msg.headers, authorization: 'GNAP other' } },
    'bad_signature'
  )
})

test('created older than maxAgeSeconds is stale, before any key lookup', async () => {
  await refuses(signed(post(), { created: NOW - 301 }), 'stale', { lookupCalls: 0 })
})

test('created further in the future than the skew is stale', async () => {
  await refuses(signed(post(), { created: NOW + 61 }), 'stale', { lookupCalls: 0 })
  await verifyMessage(signed(post(), { created: NOW + 60 }), counting().lookup, POLICY)
})

test('a past expires is stale; a future one is accepted', async () => {
  await refuses(signedWithParams(post(), ALL, `;keyid="k1";created=${NOW};expires=${NOW}`), 'stale')
  const ok = signedWithParams(post(), ALL, `;created=${NOW};expires=${NOW + 1};keyid="k1"`)
  await verifyMessage(ok, counting().lookup, POLICY)
})

for (const name of ['@method', '@target-uri', 'authorization', 'content-digest']) {
  test(`a signature not covering ${name} is missing_component, before any key lookup`, async () => {
    await refuses(signed(post(), { components: without(name) }), 'missing_component', {
      lookupCalls: 0
    })
  })
}

test('a body without a Content-Digest header is digest_missing', async () => {
  const msg = signed(post())
  const headers = { ...msg.headers, 'content-digest': undefined }
  await refuses({ ...msg, headers }, 'digest_missing', { lookupCalls: 0 })
})

test('a Content-Digest with only unsupported algorithms is digest_unsupported', async () => {
  const msg = post()
  msg.headers['content-digest'] = 'sha-1=:AAAAAAAAAAAAAAAAAAAAAAAAAAA=:'
  await refuses(signed(msg), 'digest_unsupported', { lookupCalls: 0 })
})

test('a malformed Content-Digest is malformed', async () => {
  const msg = post()
  msg.headers['content-digest'] = 'sha-512=not-a-byte-sequence'
  await refuses(signed(msg), 'malformed', { lookupCalls: 0 })
})

test('a signature without keyid is no_keyid', async () => {
  await refuses(signedWithParams(post(), ALL, `;created=${NOW}`), 'no_keyid', { lookupCalls: 0 })
})

test('alg other than ed25519 is bad_algorithm; alg="ed25519" is accepted', async () => {
  const rsa = signedWithParams(post(), ALL, `;created=${NOW};keyid="k1";alg="rsa-pss-sha512"`)
  await refuses(rsa, 'bad_algorithm', { lookupCalls: 0 })
  const ed = signedWithParams(post(), ALL, `;created=${NOW};keyid="k1";alg="ed25519"`)
  await verifyMessage(ed, counting().lookup, POLICY)
})

test('RFC 9635 §7.3.1: tag other than gnap is malformed; tag="gnap" is accepted', async () => {
  const bad = signedWithParams(post(), ALL, `;created=${NOW};keyid="k1";tag="other"`)
  await refuses(bad, 'malformed', { lookupCalls: 0 })
  const ok = signedWithParams(post(), ALL, `;created=${NOW};keyid="k1";tag="gnap"`)
  await verifyMessage(ok, counting().lookup, POLICY)
})

test('a non-Ed25519 key from lookupKey is bad_algorithm', async () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await assert.rejects(
    verifyMessage(signed(post()), async () => ec.publicKey, POLICY),
    (e: unknown) => e instanceof SignatureError && e.reason === 'bad_algorithm'
  )
})

test('errors thrown by lookupKey propagate unchanged', async () => {
  const failure = new Error('jwks fetch failed')
  await assert.rejects(
    verifyMessage(signed(post()), async () => Promise.reject(failure), POLICY),
    (e: unknown) => e === failure
  )
})
