import { createHash, type KeyObject } from 'node:crypto'
import { createContentDigest, signMessage } from '../../../src/http-signatures/index.js'

/** A key a request is signed with: a test client's, or one the AS does not know for it. */
export interface Signer {
  keyId: string
  privateKey: KeyObject
}

/** What `inject()` needs; kept structural so the fuzz code does not depend on Fastify's types. */
export interface InjectRequest {
  method: string
  url: string
  headers: Record<string, string>
  payload?: Buffer
}

export interface SignedSpec {
  method: string
  /** Path and query as sent: the target URI is the public URL plus this. */
  url: string
  /** The raw body; empty or absent is no body (a poll, a DELETE). */
  body?: Buffer
  /** Sent as `Authorization: GNAP <token>`. */
  token?: string
  signer: Signer
  /** Sent (and, where the SDKs cover them, signed) as given: Accept, Content-Type. */
  headers?: Record<string, string>
  /** Seconds added to `created` (0: now, as the SDKs sign). */
  createdOffset?: number
  digest?: 'sha-256' | 'sha-512'
  label?: string
  /** Rewrites the covered components the SDKs would choose (drop one, add a derived one). */
  components?: (sdk: string[]) => string[]
}

/**
 * The URL as `inject()` hands it to Fastify: light-my-request runs it through WHATWG URL
 * parsing (dot segments resolved, non-ASCII percent-encoded), and the signature must cover
 * the URL the server sees, as a real client's would.
 */
export function injectedUrl(url: string): string {
  const parsed = new URL(url.startsWith('//') ? `http://localhost${url}` : url, 'http://localhost')
  return parsed.pathname + parsed.search
}

// Ed25519 signatures are deterministic and opas refuses a signature it has seen (replay
// protection): two identical requests signed in the same second would be one request sent
// twice. The fuzzer sends thousands of identical-looking requests (a DELETE without a body), so
// a repeat also covers a serial-number header, which changes the signature base and nothing else.
const signedAlready = new Set<string>()
let serial = 0

/** A request signed as the Open Payments SDKs sign it, unique unless sent twice on purpose. */
export function signRequest(publicUrl: string, spec: SignedSpec): InjectRequest {
  const url = injectedUrl(spec.url)
  const headers: Record<string, string> = { accept: 'application/json', ...spec.headers }
  const body = spec.body !== undefined && spec.body.length > 0 ? spec.body : undefined
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(body.length)
    headers['content-digest'] = createContentDigest(body, spec.digest ?? 'sha-512')
  }
  if (spec.token !== undefined) headers.authorization = `GNAP ${spec.token}`
  const sdk = [
    '@method',
    '@target-uri',
    ...(headers.authorization !== undefined ? ['authorization'] : []),
    ...(body !== undefined ? ['content-digest', 'content-length', 'content-type'] : [])
  ]
  const components = spec.components ? spec.components(sdk) : sdk
  const created = Math.floor(Date.now() / 1000) + (spec.createdOffset ?? 0)
  const label = spec.label ?? 'sig1'
  const identity = JSON.stringify([
    spec.method,
    url,
    headers.authorization,
    body === undefined ? '' : createHash('sha256').update(body).digest('base64'),
    spec.signer.keyId,
    created,
    components
  ])
  if (signedAlready.has(identity)) {
    headers['x-fuzz-serial'] = String(++serial)
    components.push('x-fuzz-serial')
  }
  signedAlready.add(identity)
  const signed = signMessage(
    { method: spec.method, targetUri: publicUrl + url, headers, body },
    { key: spec.signer.privateKey, keyid: spec.signer.keyId, created, label, components }
  )
  return {
    method: spec.method,
    url,
    headers: { ...headers, ...signed },
    ...(body !== undefined ? { payload: body } : {})
  }
}
