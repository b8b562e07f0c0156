import { createHash } from 'node:crypto'

/** Bytes of entropy in access and continuation tokens: 256 bits (Rafiki used 80). */
export const TOKEN_BYTES = 32

/** A new opaque token value: 256 random bits, base64url (RFC 9635 §3.2.1: ASCII, opaque). */
export function generateTokenValue(randomBytes: (size: number) => Buffer): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

/** Tokens are stored and looked up only by their SHA-256 hash, never in the clear. */
export function hashToken(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** RFC 9635 §3.2.1 `expires_in`: a token is usable until createdAt + expiresIn seconds. */
export function isTokenExpired(createdAt: Date, expiresInSeconds: number, now: Date): boolean {
  return createdAt.getTime() + expiresInSeconds * 1000 < now.getTime()
}

/**
 * The token value from `Authorization: GNAP <token>` (RFC 9635 §7.2), or undefined.
 * The scheme is matched case-insensitively (RFC 9110 §11.1); the value must be non-empty.
 */
export function parseGnapAuthorization(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 6) return undefined
  if (header.slice(0, 5).toLowerCase() !== 'gnap ') return undefined
  const value = header.slice(5).trim()
  return value.length > 0 && !value.includes(' ') ? value : undefined
}
