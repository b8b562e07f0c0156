import { createHmac, timingSafeEqual } from 'node:crypto'
import { canonicalize } from 'json-canonicalize'

/** A webhook's body, as Rafiki's backend sends its own: `{id, type, data}`. */
export interface WebhookBody {
  /** The same on every attempt: a receiver drops a repeat by it (delivery is at least once). */
  id: string
  type: string
  data: Record<string, unknown>
}

/**
 * The RFC 8785 (JCS) form of a webhook's body, as json-canonicalize writes it, made by
 * JSON.stringify over a copy with every object's keys in order: for the values a body holds
 * (strings, finite numbers, booleans, null, arrays, plain objects), JCS is JSON.stringify's
 * serialization (§3.2.2) with the keys sorted by UTF-16 code units (§3.2.3), which is what
 * Array.prototype.sort compares. V8's native JSON.stringify costs a fraction of the library's
 * walk, and every webhook is serialized so (a property test holds the two equal).
 */
export function canonicalJson(body: WebhookBody): string {
  return JSON.stringify(sortedKeys(body))
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (value === null || typeof value !== 'object') return value
  // No prototype: a key named __proto__ is a key like any other.
  const sorted: Record<string, unknown> = Object.create(null)
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key]
    if (item !== undefined) sorted[key] = sortedKeys(item)
  }
  return sorted
}

/** The signature scheme's version, `v1` in the header (Rafiki's SIGNATURE_VERSION default). */
export const WEBHOOK_SIGNATURE_VERSION = 1

/**
 * The `Rafiki-Signature` header of a webhook sent at `timestampMs`: `t=<ms>, v1=<hex>`, the hex
 * HMAC-SHA256 keyed with the secret over `<t>.<JCS of the body>` (RFC 8785, json-canonicalize,
 * as Rafiki's backend signs, so that a wallet's existing verifier accepts it unchanged). The
 * timestamp is signed with the body: a receiver may refuse an old one, and a replayed body
 * cannot be given a new one.
 */
export function signWebhook(body: WebhookBody, secret: string, timestampMs: number): string {
  return signCanonical(canonicalize(body), secret, timestampMs)
}

/**
 * The header for a body already in its JCS form: a sender that sends that form itself (valid
 * JSON, the same value) serializes each body once.
 */
export function signCanonical(canonical: string, secret: string, timestampMs: number): string {
  const digest = createHmac('sha256', secret).update(`${timestampMs}.${canonical}`).digest('hex')
  return `t=${timestampMs}, v${WEBHOOK_SIGNATURE_VERSION}=${digest}`
}

/**
 * A receiver's check of the header, as Rafiki documents it (with a constant-time comparison):
 * for opas's own tests, and for a wallet that wants one to copy.
 */
export function verifyWebhookSignature(
  header: string,
  body: unknown,
  secret: string
): { valid: boolean; timestampMs?: number } {
  const match = /^t=(\d+), v(\d+)=([0-9a-f]{64})$/.exec(header)
  if (!match || Number(match[2]) !== WEBHOOK_SIGNATURE_VERSION) return { valid: false }
  const expected = createHmac('sha256', secret)
    .update(`${match[1]}.${canonicalize(body)}`)
    .digest()
  const given = Buffer.from(match[3]!, 'hex')
  return { valid: timingSafeEqual(expected, given), timestampMs: Number(match[1]) }
}
