import { createPublicKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ClientKeyError } from './client-key-error.js'

// base64url without padding of 32 bytes is 43 characters (RFC 8037 §2: x is the raw key).
const ed25519X = /^[A-Za-z0-9_-]{43}$/

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Why a JWK is not an acceptable Ed25519 public key, or undefined when it is. */
function jwkProblem(jwk: unknown): string | undefined {
  if (!isRecord(jwk)) return 'not an object'
  if (jwk.kty !== 'OKP') return 'kty is not OKP'
  if (jwk.crv !== 'Ed25519') return 'crv is not Ed25519'
  // Open Payments allows only EdDSA (wallet-address-server.yaml, json-web-key.alg).
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') return 'alg is not EdDSA'
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'use is not sig'
  // A published private key is compromised by definition: refuse it rather than strip it.
  if (jwk.d !== undefined) return 'contains private key material'
  const x = jwk.x
  if (typeof x !== 'string' || !ed25519X.test(x)) return 'x is not 32 bytes of base64url'
  // Reject non-canonical encodings (non-zero trailing bits) so one key has one spelling.
  if (Buffer.from(x, 'base64url').toString('base64url') !== x) return 'x is not canonical'
  return undefined
}

/**
 * Validate an Ed25519 public JWK (RFC 8037: kty OKP, crv Ed25519; alg EdDSA when present;
 * x exactly 32 bytes of base64url; no `d`) and import it. Used for JWKS entries and for
 * directed-identity clients that send their JWK in the grant request.
 * @throws ClientKeyError with reason `invalid_document`
 */
export function importEd25519Jwk(jwk: unknown, url = ''): KeyObject {
  const problem = jwkProblem(jwk)
  if (problem !== undefined) {
    throw new ClientKeyError('invalid_document', url, { cause: new Error(problem) })
  }
  const { x } = jwk as { x: string }
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
  } catch (cause) {
    throw new ClientKeyError('invalid_document', url, { cause })
  }
}

/**
 * Parse a JWKS document (RFC 7517 §5) into imported keys by kid. Invalid or duplicate entries
 * are skipped (reported through `skip`) so one bad key does not lock out a client's good ones.
 * @throws ClientKeyError `invalid_document` when the document is not `{ keys: [...] }`
 */
export function parseJwks(
  doc: unknown,
  url: string,
  skip: (info: { kid: unknown; problem: string }) => void
): ReadonlyMap<string, KeyObject> {
  if (!isRecord(doc) || !Array.isArray(doc.keys)) throw new ClientKeyError('invalid_document', url)
  const keys = new Map<string, KeyObject>()
  for (const jwk of doc.keys as unknown[]) {
    const kid = isRecord(jwk) ? jwk.kid : undefined
    if (typeof kid !== 'string' || kid === '') {
      skip({ kid, problem: 'missing kid' })
      continue
    }
    if (keys.has(kid)) {
      skip({ kid, problem: 'duplicate kid' })
      continue
    }
    const problem = jwkProblem(jwk)
    if (problem !== undefined) {
      skip({ kid, problem })
      continue
    }
    try {
      keys.set(kid, importEd25519Jwk(jwk, url))
    } catch {
      skip({ kid, problem: 'import failed' })
    }
  }
  return keys
}

/** A public Ed25519 key as RFC 9635 §7.1 presents one: a JWK with its `kid` and `alg`. */
export interface PublicJwk {
  kid: string
  alg: 'EdDSA'
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
}

// Exported once per imported key: a JWKS entry is one KeyObject, under one kid, for as long as
// it is cached, so every grant it signs shares one JWK.
const exported = new WeakMap<KeyObject, Readonly<PublicJwk>>()

/** `key` (an imported Ed25519 public key) as the JWK named `kid`. */
export function publicJwk(key: KeyObject, kid: string): Readonly<PublicJwk> {
  let jwk = exported.get(key)
  if (jwk === undefined || jwk.kid !== kid) {
    const x = key.export({ format: 'jwk' }).x as string
    jwk = Object.freeze({
      kid,
      alg: 'EdDSA' as const,
      kty: 'OKP' as const,
      crv: 'Ed25519' as const,
      x
    })
    exported.set(key, jwk)
  }
  return jwk
}
