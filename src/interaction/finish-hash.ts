import { createHash } from 'node:crypto'

/**
 * The interaction finish hash (RFC 9635 §4.2.3): SHA-256 over the client's nonce, the AS's
 * interaction nonce, the interaction reference and the grant endpoint URI the client called,
 * joined by "\n" with no trailing newline.
 *
 * Encoded as padded standard Base64, not the RFC's base64url: that is what Rafiki sends and
 * what every Open Payments client verifies against (Rafiki behaviour §4.3).
 */
export function computeInteractHash(input: {
  clientNonce: string
  interactNonce: string
  interactRef: string
  grantUri: string
}): string {
  return createHash('sha256')
    .update(`${input.clientNonce}\n${input.interactNonce}\n${input.interactRef}\n${input.grantUri}`)
    .digest('base64')
}
