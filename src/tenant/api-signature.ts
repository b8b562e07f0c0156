import { createHmac, timingSafeEqual } from 'node:crypto'
import { canonicalize } from 'json-canonicalize'

/**
 * Rafiki's tenant API signature, as its admin clients (the admin UI, the mock account servicing
 * entity, the backend) sign a request: header `signature: t=<timestamp>, v<version>=<hex>`
 * where the digest is HMAC-SHA256, keyed with the tenant's API secret, of
 * `<timestamp>.<JCS of the parsed JSON body>` (RFC 8785). Signing the parsed body, not the bytes,
 * lets a client sign `{variables, operationName, query}` while its HTTP library sends the same
 * object serialised otherwise.
 *
 * Stricter than Rafiki: a malformed header is refused instead of throwing, the timestamp must
 * also not lie ahead, the digest is compared in constant time, and a signature is refused when
 * seen again (the caller records it).
 */

export interface ParsedApiSignature {
  /** The timestamp as sent (it is part of what was signed). */
  timestamp: string
  /** Unix milliseconds (Rafiki's clients send milliseconds; seconds are accepted too). */
  signedAtMs: number
  version: number
  digest: Buffer
}

export type ApiSignatureRefusal =
  | 'missing'
  | 'malformed'
  | 'wrong_version'
  | 'expired'
  | 'from_the_future'
  | 'bad_digest'
  | 'too_deep'

/**
 * How deeply a signed body may nest. Canonicalisation recurses once per level: a body nested
 * thousands deep (a few kilobytes of brackets) would exhaust the stack before any check.
 */
export const MAX_BODY_DEPTH = 64

/** True when `value` nests objects and arrays deeper than `max` (counted without recursion). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (current === null || typeof current !== 'object') continue
    if (depth >= max) return true
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return false
}

const HEADER = /^t=(\d{1,16}), ?v(\d{1,4})=([0-9a-f]{64})$/i

/** Timestamps below this are seconds (1e11 s is the year 5138; 1e11 ms is March 1973). */
const SECONDS_BELOW = 100_000_000_000

/** How far ahead of our clock a signature may be dated (clock skew between machines). */
const MAX_FUTURE_MS = 5_000

export function parseApiSignature(
  header: string | undefined
): ParsedApiSignature | ApiSignatureRefusal {
  if (header === undefined || header === '') return 'missing'
  const match = HEADER.exec(header.trim())
  if (!match) return 'malformed'
  const [, timestamp, version, hex] = match as unknown as [string, string, string, string]
  const n = Number(timestamp)
  return {
    timestamp,
    signedAtMs: n < SECONDS_BELOW ? n * 1000 : n,
    version: Number(version),
    digest: Buffer.from(hex, 'hex')
  }
}

/** The digest a client computes for `body` at `timestamp`. */
function apiSignatureDigest(secret: string, timestamp: string, body: unknown): Buffer {
  return createHmac('sha256', secret)
    .update(`${timestamp}.${canonicalize(body)}`)
    .digest()
}

/** The header value a Rafiki client sends (`t` in milliseconds). */
export function apiSignatureHeader(
  secret: string,
  version: number,
  body: unknown,
  nowMs: number
): string {
  const t = String(nowMs)
  return `t=${t}, v${version}=${apiSignatureDigest(secret, t, body).toString('hex')}`
}

/**
 * Checks a parsed signature against the tenant's secret, the expected version and the time
 * window (`ttlMs` back, MAX_FUTURE_MS ahead of `nowMs`). Undefined when it holds.
 */
export function checkApiSignature(
  signature: ParsedApiSignature,
  options: { secret: string; version: number; body: unknown; nowMs: number; ttlMs: number }
): ApiSignatureRefusal | undefined {
  if (signature.version !== options.version) return 'wrong_version'
  if (options.nowMs - signature.signedAtMs > options.ttlMs) return 'expired'
  if (signature.signedAtMs - options.nowMs > MAX_FUTURE_MS) return 'from_the_future'
  if (nestsDeeperThan(options.body, MAX_BODY_DEPTH)) return 'too_deep'
  const expected = apiSignatureDigest(options.secret, signature.timestamp, options.body)
  return timingSafeEqual(expected, signature.digest) ? undefined : 'bad_digest'
}
