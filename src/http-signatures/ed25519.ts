import { verify as nodeVerify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'

/**
 * Ed25519 verification (RFC 8032 §5.1.7), the one cryptographic operation on every signed
 * request. libsodium (through the optional `sodium-native`, prebuilt for the usual platforms)
 * verifies in about half the CPU time of node:crypto (OpenSSL) — measured by `npm run bench`'s
 * floor and in bench/README.md — so it is used whenever it loads; node:crypto is the fallback,
 * and both must agree on the RFC 9421 test vector (tested). libsodium is also the stricter of the
 * two: it refuses small-order public keys and R values as well as non-canonical S.
 */

interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean
}

function loadSodium(): Sodium | undefined {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return undefined
  }
}

const sodium = loadSodium()

/** Which implementation `verifyEd25519` uses, for the start-up log and the benchmark. */
export const ed25519Backend: 'libsodium' | 'node:crypto' = sodium ? 'libsodium' : 'node:crypto'

// A client key is imported once and cached (client-keys, client-verifier), so its raw bytes are
// extracted once too; the WeakMap lets them go with the KeyObject.
const rawKeys = new WeakMap<KeyObject, Uint8Array>()

function rawPublicKey(key: KeyObject): Uint8Array {
  let raw = rawKeys.get(key)
  if (raw === undefined) {
    raw = Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url')
    rawKeys.set(key, raw)
  }
  return raw
}

const ED25519_SIGNATURE_BYTES = 64
const ED25519_PUBLIC_KEY_BYTES = 32

export function verifyWithNodeCrypto(
  message: Uint8Array,
  key: KeyObject,
  signature: Uint8Array
): boolean {
  try {
    return nodeVerify(null, message, key, signature)
  } catch {
    return false
  }
}

/** Undefined when sodium-native could not be loaded on this platform. */
export const verifyWithSodium =
  sodium &&
  ((message: Uint8Array, key: KeyObject, signature: Uint8Array): boolean => {
    const raw = rawPublicKey(key)
    // libsodium throws on wrong lengths; a wrong length is simply not a valid signature.
    if (signature.length !== ED25519_SIGNATURE_BYTES || raw.length !== ED25519_PUBLIC_KEY_BYTES)
      return false
    return sodium.crypto_sign_verify_detached(signature, message, raw)
  })

/** True when `signature` is a valid Ed25519 signature of `message` under the public `key`. */
export const verifyEd25519: (
  message: Uint8Array,
  key: KeyObject,
  signature: Uint8Array
) => boolean = verifyWithSodium ?? verifyWithNodeCrypto
