import { createContentDigest, signMessage } from '../src/http-signatures/index.js'
import type { TestClient } from '../test/helpers/wallet-address-server.js'
import type { BenchRequest } from './http.js'

const WITH_BODY = ['@method', '@target-uri', 'content-digest', 'content-length', 'content-type']
const AUTH_ONLY = ['@method', '@target-uri', 'authorization']
const WITH_AUTH = [
  '@method',
  '@target-uri',
  'authorization',
  'content-digest',
  'content-length',
  'content-type'
]

/**
 * A POST signed exactly as the Open Payments SDKs sign: RFC 9421 label `sig1` over `@method
 * @target-uri [authorization] [content-digest content-length content-type]`, a sha-512
 * Content-Digest, `created` = now. `json` undefined sends no body, as the SDK's token rotation
 * does. Ed25519 is deterministic, so two requests with the same bytes in the same second carry
 * the same signature; callers make every body or token unique so that replay protection never
 * sees a repeat.
 */
export function signedPost(
  client: TestClient,
  url: string,
  json: string | undefined,
  gnapToken?: string
): BenchRequest {
  const body = json === undefined ? undefined : Buffer.from(json)
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(body.length)
    headers['content-digest'] = createContentDigest(body, 'sha-512')
  }
  if (gnapToken !== undefined) headers.authorization = `GNAP ${gnapToken}`
  const components =
    body === undefined ? AUTH_ONLY : gnapToken === undefined ? WITH_BODY : WITH_AUTH
  const signature = signMessage(
    { method: 'POST', targetUri: url, headers, body },
    {
      key: client.privateKey,
      keyid: client.keyId,
      created: Math.floor(Date.now() / 1000),
      label: 'sig1',
      components
    }
  )
  headers['signature-input'] = signature['signature-input']
  headers.signature = signature.signature
  return { url, headers, body }
}

/** An unsigned JSON POST (introspection: resource servers do not sign). */
export function plainPost(url: string, json: string): BenchRequest {
  return {
    url,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: Buffer.from(json)
  }
}
