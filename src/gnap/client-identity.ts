import { internalError } from './gnap-error.js'
import type { GrantRequest, Jwk } from './request-schemas.js'

/** Who the client is: a wallet address (keys at `{walletAddress}/jwks.json`) or a bare JWK. */
export type ClientIdentity =
  { kind: 'walletAddress'; walletAddress: string } | { kind: 'jwk'; jwk: Jwk }

/** Normalises the spec's three `client` forms. */
export function clientIdentityOf(client: GrantRequest['client']): ClientIdentity {
  if (typeof client === 'string') return { kind: 'walletAddress', walletAddress: client }
  if ('walletAddress' in client)
    return { kind: 'walletAddress', walletAddress: client.walletAddress }
  return { kind: 'jwk', jwk: client.jwk }
}

/** The client identity stored on a grant. */
export function storedClient(row: { client: string | null; jwk: Jwk | null }): ClientIdentity {
  if (row.client !== null) return { kind: 'walletAddress', walletAddress: row.client }
  if (row.jwk !== null) return { kind: 'jwk', jwk: row.jwk }
  // The schema's check constraint makes this unreachable; answer it as Rafiki does.
  throw internalError()
}
