export const clientKeyErrorReasons = [
  'invalid_url',
  'forbidden_address',
  'fetch_failed',
  'timeout',
  'too_large',
  'bad_status',
  'invalid_document',
  'unknown_key'
] as const

export type ClientKeyErrorReason = (typeof clientKeyErrorReasons)[number]

/**
 * Why a client's key or wallet address document could not be obtained. The GNAP layer maps
 * it to `invalid_client` (RFC 9635 §3.6); `reason` is for logs and metrics.
 */
export class ClientKeyError extends Error {
  readonly reason: ClientKeyErrorReason
  /** The URL that was fetched (empty for a JWK passed inline). */
  readonly url: string

  constructor(reason: ClientKeyErrorReason, url: string, options?: { cause?: unknown }) {
    super(url === '' ? reason : `${reason}: ${url}`, options)
    this.name = 'ClientKeyError'
    this.reason = reason
    this.url = url
  }
}
