/**
 * GNAP error codes registered by RFC 9635 §3.6 (and §10.3's IANA registry), and the one of RFC
 * 9767 §3.5 opas answers resource servers with.
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
  'too_many_attempts',
  // RFC 9767 §3.5, answered to resource servers.
  'invalid_resource_server'
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

type ErrorOptions = { cause?: unknown; headers?: Record<string, string> }

/**
 * One constructor per code, with the status opas answers it with. RFC 9635 §3.6 assigns no
 * statuses; these are Rafiki's most common ones. A site passing another status says why (it is
 * what Rafiki answers there).
 */
function errorOf(code: GnapErrorCode, defaultStatus: number) {
  return (description: string, status = defaultStatus, options?: ErrorOptions) =>
    new GnapError(status, code, description, options)
}

export const invalidRequest = errorOf('invalid_request', 400)
export const invalidClient = errorOf('invalid_client', 401)
export const invalidInteraction = errorOf('invalid_interaction', 400)
export const invalidFlag = errorOf('invalid_flag', 400)
export const invalidRotation = errorOf('invalid_rotation', 404)
export const invalidContinuation = errorOf('invalid_continuation', 401)
export const userDenied = errorOf('user_denied', 401)
export const requestDenied = errorOf('request_denied', 401)
export const unknownInteraction = errorOf('unknown_interaction', 404)
export const tooFast = errorOf('too_fast', 400)
export const tooManyAttempts = errorOf('too_many_attempts', 429)
/** A resource server not recognised, or its signature refused (RFC 9767 §3.5). */
export const invalidResourceServer = errorOf('invalid_resource_server', 401)

/** An unexpected failure, answered as Rafiki answers one (500 `request_denied`). */
export const internalError = (options?: ErrorOptions) =>
  new GnapError(500, 'request_denied', 'internal server error', options)

/** A dependency is down (database, metrics): 503, in Rafiki's envelope for server faults. */
export const unavailable = (description: string, options?: ErrorOptions) =>
  new GnapError(503, 'request_denied', description, options)
