import { internalError } from './gnap-error.js'
import type { GrantRequest, Jwk } from './request-schemas.js'

/** Who the client is: a wallet address (keys at `{walletAddress}/jwks.json`) or a bare JWK. */
export type ClientIdentity =
  { kind: 'walletAddress'; walletAddress: string } | { kind: 'jwk'; jwk: Jwk }

const UNRESERVED = /^[A-Za-z0-9._~-]$/

/**
 * RFC 3986 §6.2.2.1 and §6.2.2.2: a percent-escape of an unreserved character (ALPHA, DIGIT,
 * `-`, `.`, `_`, `~`) is that character; any other escape keeps its octet, in upper-case hex.
 * A `%` not followed by two hex digits is left as it is.
 */
export function normalizePercentEncoding(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

/**
 * The one spelling of a client's wallet address: every spelling of one address is one client
 * (one rate-limit budget, one stored address an operator can search for). WHATWG URL parsing
 * gives the scheme and host in lower case, no default port and no dot segments (RFC 3986
 * §6.2.2.1, §6.2.2.3, §6.2.3); escapes of unreserved characters are decoded (§6.2.2.2); and
 * trailing slashes are dropped, since Open Payments wallet addresses have none (the keys are at
 * `{walletAddress}/jwks.json`). Only a plain http(s) URL is a wallet address: anything else
 * (another scheme, credentials, a query or fragment, not a URL at all) is returned unchanged, for
 * the key fetch to refuse. Idempotent.
 */
export function normalizeWalletAddress(address: string): string {
  if (address.includes('?') || address.includes('#') || !URL.canParse(address)) return address
  const url = new URL(address)
  const plain = url.protocol === 'https:' || url.protocol === 'http:'
  if (!plain || url.username !== '' || url.password !== '') return address
  const path = normalizePercentEncoding(url.pathname).replace(/\/+$/, '')
  return `${url.protocol}//${url.host}${path}`
}

/** Normalises the spec's three `client` forms, a wallet address to its one spelling. */
export function clientIdentityOf(client: GrantRequest['client']): ClientIdentity {
  if (typeof client === 'string') {
    return { kind: 'walletAddress', walletAddress: normalizeWalletAddress(client) }
  }
  if ('walletAddress' in client) {
    return { kind: 'walletAddress', walletAddress: normalizeWalletAddress(client.walletAddress) }
  }
  return { kind: 'jwk', jwk: client.jwk }
}

/**
 * The client identity stored on a grant. Grants stored before addresses were normalised may
 * carry another spelling that migration 008 could not rewrite: read in the normal form, they
 * count against the same budget and are fetched at the same address as new ones.
 */
export function storedClient(row: { client: string | null; jwk: Jwk | null }): ClientIdentity {
  if (row.client !== null) {
    return { kind: 'walletAddress', walletAddress: normalizeWalletAddress(row.client) }
  }
  if (row.jwk !== null) return { kind: 'jwk', jwk: row.jwk }
  // The schema's check constraint makes this unreachable; answer it as Rafiki does.
  throw internalError()
}
