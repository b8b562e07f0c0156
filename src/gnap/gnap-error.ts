/**
 * GNAP error codes registered by RFC 9635 §3.6 (and §10.3's IANA registry).
 * Open Payments uses the same codes; Rafiki emits nine of them.
 */
export const gnapErrorCodes = [
  'invalid_request',
  'invalid_client',
  'invalid_interaction',
  'invalid_flag',
  'invalid_rotation',
  'key_rotation_not_supported',
  'invalid_continuation',
  'user_denied',
  'request_denied',
  'unknown_user',
  'unknown_interaction',
  'too_fast',
  'too_many_attempts'
] as const

export type GnapErrorCode = (typeof gnapErrorCodes)[number]

/**
 * The one protocol error of the server. `description` is public (it is sent to the client);
 * `cause` is private (logged, never sent). The HTTP edge turns it into
 * `{"error":{"code","description"}}` with `status` (RFC 9635 §3.6).
 */
export class GnapError extends Error {
  readonly code: GnapErrorCode
  readonly status: number
  readonly description: string
  /** Response headers that belong to the error (e.g. Retry-After with 429). */
  readonly headers: Readonly<Record<string, string>> | undefined

  constructor(
    status: number,
    code: GnapErrorCode,
    description: string,
    options?: { cause?: unknown; headers?: Record<string, string> }
  ) {
    super(`${code}: ${description}`, options)
    this.name = 'GnapError'
    this.status = status
    this.code = code
    this.description = description
    this.headers = options?.headers
  }
}

/** The wire shape of a GNAP error response (RFC 9635 §3.6). */
export interface GnapErrorBody {
  error: { code: GnapErrorCode; description: string }
}

export function gnapErrorBody(code: GnapErrorCode, description: string): GnapErrorBody {
  return { error: { code, description } }
}
