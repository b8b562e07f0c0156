import { createHmac } from 'node:crypto'

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
 * A webhook as sent at `timestampMs`: its body in JCS form (valid JSON, the same value: what is
 * sent is what is signed, serialized once), and its `Rafiki-Signature` header, `t=<ms>, v1=<hex>`,
 * the hex HMAC-SHA256 keyed with the secret over `<t>.<JCS of the body>` (RFC 8785, as Rafiki's
 * backend signs, so that a wallet's existing verifier accepts it unchanged). The timestamp is
 * signed with the body: a receiver may refuse an old one, and a replayed body cannot be given a
 * new one.
 */
export function signWebhook(
  body: WebhookBody,
  secret: string,
  timestampMs: number
): { json: string; header: string } {
  const json = canonicalJson(body)
  const digest = createHmac('sha256', secret).update(`${timestampMs}.${json}`).digest('hex')
  return { json, header: `t=${timestampMs}, v${WEBHOOK_SIGNATURE_VERSION}=${digest}` }
}
