import { createHash, timingSafeEqual } from 'node:crypto'
import { parseDictionary } from 'structured-headers'
import { SignatureError } from './signature-error.js'

export const contentDigestAlgorithms = ['sha-256', 'sha-512'] as const
export type ContentDigestAlgorithm = (typeof contentDigestAlgorithms)[number]

// RFC 9530 §5: registered names to node:crypto hash names.
const nodeHashNames: Record<ContentDigestAlgorithm, string> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512'
}

function isKnownAlgorithm(name: string): name is ContentDigestAlgorithm {
  return name === 'sha-256' || name === 'sha-512'
}

/**
 * RFC 9530 §2: verify a Content-Digest header value over the raw body bytes.
 * Unknown algorithms are ignored (RFC 9530 §2), but at least one known one must be present,
 * and every known one present must match.
 *
 * @throws SignatureError `malformed`, `digest_unsupported` or `digest_mismatch`
 */
export function verifyContentDigest(headerValue: string, body: Buffer): void {
  let dictionary
  try {
    dictionary = parseDictionary(headerValue)
  } catch {
    throw new SignatureError('malformed', 'Content-Digest is not a structured dictionary')
  }
  let checked = 0
  for (const [name, member] of dictionary) {
    const value = member[0]
    // RFC 9530 §2: each member value is a byte sequence.
    if (!(value instanceof ArrayBuffer)) {
      throw new SignatureError('malformed', 'Content-Digest member is not a byte sequence')
    }
    if (!isKnownAlgorithm(name)) continue
    const expected = createHash(nodeHashNames[name]).update(body).digest()
    const received = new Uint8Array(value)
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      throw new SignatureError('digest_mismatch', `Content-Digest ${name} does not match the body`)
    }
    checked++
  }
  if (checked === 0) {
    throw new SignatureError('digest_unsupported', 'Content-Digest has no supported algorithm')
  }
}

/** RFC 9530 §2: build a Content-Digest header value, e.g. `sha-512=:...:`. */
export function createContentDigest(body: Buffer, algorithm: ContentDigestAlgorithm): string {
  const digest = createHash(nodeHashNames[algorithm]).update(body).digest('base64')
  return `${algorithm}=:${digest}:`
}
