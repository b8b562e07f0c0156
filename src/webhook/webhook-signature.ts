import { createHmac } from 'node:crypto'
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
 * JSON.stringify with every object's keys in order: for the values a body holds (strings,
 * finite numbers, booleans, null, arrays, plain objects), JCS is JSON.stringify's serialization
 * (§3.2.2) with the keys sorted by UTF-16 code units (§3.2.3), which is what `<` and
 * Array.prototype.sort compare. V8's native JSON.stringify costs a fraction of the library's
 * walk, and every webhook is serialized so (a property test holds the two equal). A body built
 * with its keys in order (as webhookOf builds `data`) is serialized as it is, not copied.
 *
 * An object cannot hold an integer-like key ("9", "10") after another key, so such a body
 * (which webhookOf never builds) is left to the library.
 */
export function canonicalJson(body: WebhookBody): string {
  const data = inKeyOrder(body.data)
  if (data === UNORDERABLE) return canonicalize(body)
  return JSON.stringify({ data, id: body.id, type: body.type })
}

const UNORDERABLE = Symbol('an object with an integer-like key and another key')
const INTEGER_LIKE = /^(?:0|[1-9][0-9]*)$/

/**
 * The value itself when every object in it has its keys in order, else a copy that has (or
 * UNORDERABLE when no object can).
 */
function inKeyOrder(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item = inKeyOrder(value[i])
      if (item === UNORDERABLE) return UNORDERABLE
      if (item !== value[i]) (copy ??= value.slice())[i] = item
    }
    return copy ?? value
  }
  const object = value as Record<string, unknown>
  const keys = Object.keys(object)
  // V8 lists integer-like keys first, in numeric order: no copy could list them after another.
  if (keys.length > 1 && INTEGER_LIKE.test(keys[0]!)) return UNORDERABLE
  let ordered = true
  for (let i = 0; i < keys.length && ordered; i++) {
    const item = object[keys[i]!]
    const inner = item === undefined ? undefined : inKeyOrder(item)
    if (inner === UNORDERABLE) return UNORDERABLE
    ordered = (i === 0 || keys[i - 1]! < keys[i]!) && item !== undefined && inner === item
  }
  if (ordered) return value
  // No prototype: a key named __proto__ is a key like any other.
  const sorted: Record<string, unknown> = Object.create(null)
  for (const key of keys.sort()) {
    const item = object[key]
    if (item !== undefined) sorted[key] = inKeyOrder(item)
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
