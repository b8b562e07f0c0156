import type { KeyObject } from 'node:crypto'

/** The request as received. */
export interface HttpMessage {
  /** e.g. 'POST'; the `@method` component value is this, upper-cased. */
  method: string
  /** Absolute target URI the client addressed, e.g. 'https://auth.example/tenant?x=1'. */
  targetUri: string
  /** Lower-case names, like node's IncomingHttpHeaders. */
  headers: Record<string, string | string[] | undefined>
  /** The raw body bytes; undefined or zero-length means "no body". */
  body?: Buffer
}

/**
 * Which covered components a signature must include.
 * - `gnap`: RFC 9635 §7.3.1 (what Open Payments requires): `@method`, `@target-uri`,
 *   `authorization` when present, and `content-digest` (+ `content-length`, `content-type`
 *   when present) when there is a body.
 * - `none`: plain RFC 9421 verification of whatever the signer chose to cover; only for
 *   interoperability tests such as the RFC 9421 Appendix B vectors.
 */
export const requiredComponentProfiles = ['gnap', 'none'] as const
export type RequiredComponentProfile = (typeof requiredComponentProfiles)[number]

export interface VerifyPolicy {
  /** Current time, unix seconds. */
  now: number
  /** `created` must be >= now - maxAgeSeconds. */
  maxAgeSeconds: number
  /** `created` must be <= now + this (default 60). */
  maxFutureSkewSeconds?: number
  /** Default `gnap`. */
  requiredComponents?: RequiredComponentProfile
}

export type KeyLookup = (keyid: string) => Promise<KeyObject>

export interface VerifiedSignature {
  label: string
  keyid: string
  created: number
  /** RFC 9421 §2.3 `nonce`, when the signer sent one. */
  nonce?: string
  components: string[]
  /** The verified signature's bytes (the replay record's key). */
  signature: Buffer
}
