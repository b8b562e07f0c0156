import type { AccessItem } from './access.js'

/**
 * Response shapes of the Open Payments auth-server spec (v1.3), built from domain values.
 * The official client validates these (`validateResponses: true`), so every field is spec'd.
 */
export interface AccessTokenWire {
  value: string
  manage: string
  expires_in: number
  access: AccessItem[]
  /** The client's label for the token, echoed when it gave one (RFC 9635 §3.2.1). */
  label?: string
}

export interface ContinueWire {
  access_token: { value: string }
  uri: string
  wait?: number
}

export function accessTokenWire(
  baseUrl: string,
  token: { value: string; managementId: string; expiresIn: number },
  access: AccessItem[],
  label: string | null = null
): AccessTokenWire {
  const wire: AccessTokenWire = {
    value: token.value,
    manage: `${baseUrl}/token/${token.managementId}`,
    expires_in: token.expiresIn,
    access
  }
  if (label !== null) wire.label = label
  return wire
}

export function continueWire(
  baseUrl: string,
  continueId: string,
  continueToken: string,
  wait?: number
): ContinueWire {
  const wire: ContinueWire = {
    access_token: { value: continueToken },
    uri: `${baseUrl}/continue/${continueId}`
  }
  if (wait !== undefined) wire.wait = wait
  return wire
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Path ids are UUIDs; anything else names nothing, so it is answered as unknown, not as a 500. */
export function isUuid(value: string): boolean {
  return UUID.test(value)
}
