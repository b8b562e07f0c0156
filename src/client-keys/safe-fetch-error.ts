/** Why an SSRF-safe fetch failed; a subset of the client key error reasons. */
export const safeFetchErrorReasons = [
  'invalid_url',
  'forbidden_address',
  'fetch_failed',
  'timeout',
  'too_large',
  'bad_status',
  'invalid_document'
] as const

export type SafeFetchErrorReason = (typeof safeFetchErrorReasons)[number]

/** Why a safe fetch failed. `status` is set for `bad_status` when a response was received. */
export class SafeFetchError extends Error {
  readonly reason: SafeFetchErrorReason
  readonly url: string
  readonly status: number | undefined

  constructor(
    reason: SafeFetchErrorReason,
    url: string,
    opts?: { cause?: unknown; status?: number }
  ) {
    super(`${reason}: ${url}`, opts?.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'SafeFetchError'
    this.reason = reason
    this.url = url
    this.status = opts?.status
  }
}
