import { createHash, timingSafeEqual } from 'node:crypto'

/** Shared secrets (the IdP's x-idp-secret) are stored as SHA-256 hashes. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

/**
 * Constant-time check of a presented secret against a stored hash. Hashing first gives both
 * sides the same length, so a wrong-length secret is a plain mismatch (Rafiki's
 * timingSafeEqual threw on it and answered 500).
 */
export function secretMatchesHash(
  presented: string | undefined,
  storedHash: Uint8Array | null
): boolean {
  if (presented === undefined || storedHash === null || storedHash.length !== 32) return false
  return timingSafeEqual(hashSecret(presented), storedHash)
}

/** Constant-time equality of two byte strings of any length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
