import type { KeyObject } from 'node:crypto'
import { createContentDigest, signMessage } from '../../src/http-signatures/index.js'
import type { TestClient } from './wallet-address-server.js'

export interface SignedRequestOptions {
  method?: string
  /** A value to send as JSON, or a string sent as is. */
  body?: unknown
  /** Sent as `Authorization: GNAP <token>`. */
  token?: string
  client: TestClient
  /** Overrides of what is signed, for refusal tests. */
  keyid?: string
  key?: KeyObject
  created?: number
  /** Signs an RFC 9421 `nonce` parameter. */
  nonce?: string
  label?: string
  components?: string[]
  headers?: Record<string, string>
  /** Changes the body after signing (a tampered request). */
  tamperBody?: (body: string) => string
  digestAlgorithm?: 'sha-256' | 'sha-512'
  /** Send to this URL, signed for `url` (another process behind the same public URL). */
  sendTo?: string
}

export interface TestResponse {
  status: number
  body: unknown
  text: string
  headers: Headers
}

// opas refuses a signature it has already seen (replay protection; for grant requests only when
// signed with a nonce), and Ed25519 signatures are deterministic: two identical requests signed
// in the same second are one request sent twice.
// Tests send identical requests in quick succession on purpose (a refusal, then the same request
// done right; twenty concurrent rotations of one token), so the helpers sign each one with
// `created` = now, as the SDKs do, unless that exact request was already signed with it, and then
// with the latest earlier second not yet used for it. Tests of replay pass `created` explicitly.
const signedAlready = new Set<string>()
export function distinctCreated(identity: string): number {
  const now = Math.floor(Date.now() / 1000)
  for (let created = now; created > now - 120; created--) {
    const key = `${created} ${identity}`
    if (!signedAlready.has(key)) {
      signedAlready.add(key)
      return created
    }
  }
  throw new Error('the same request was signed 120 times within two minutes')
}

/**
 * Resolves just after the wall clock enters its next second, so that the next request an SDK
 * signs (`created` = now, in seconds) differs from the last one even if nothing else does.
 */
export function untilNextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)))
}

/**
 * A request signed exactly as the Open Payments SDKs sign (RFC 9421 `sig1` over `@method
 * @target-uri [authorization] [content-digest content-length content-type]`, sha-512 digest).
 */
export async function signedRequest(
  url: string,
  options: SignedRequestOptions
): Promise<TestResponse> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST')
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
  let body: string | undefined
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(body))
    headers['content-digest'] ??= createContentDigest(
      Buffer.from(body),
      options.digestAlgorithm ?? 'sha-512'
    )
  }
  if (options.token !== undefined) headers.authorization = `GNAP ${options.token}`
  const components = options.components ?? [
    '@method',
    '@target-uri',
    ...(headers.authorization ? ['authorization'] : []),
    ...(body !== undefined ? ['content-digest', 'content-length', 'content-type'] : [])
  ]
  const signed = signMessage(
    { method, targetUri: url, headers, body: body === undefined ? undefined : Buffer.from(body) },
    {
      key: options.key ?? options.client.privateKey,
      keyid: options.keyid ?? options.client.keyId,
      created:
        options.created ??
        distinctCreated(JSON.stringify([method, url, headers.authorization, body, options.keyid])),
      label: options.label ?? 'sig1',
      components,
      ...(options.nonce !== undefined && { nonce: options.nonce })
    }
  )
  const sent = body !== undefined && options.tamperBody ? options.tamperBody(body) : body
  if (sent !== undefined) headers['content-length'] = String(Buffer.byteLength(sent))
  return send(options.sendTo ?? url, { method, headers: { ...headers, ...signed }, body: sent })
}

/** A plain request (unsigned), parsed like the signed one. */
export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string }
): Promise<TestResponse> {
  const res = await fetch(url, { ...init, redirect: 'manual' })
  const text = await res.text()
  let parsed: unknown = undefined
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  return { status: res.status, body: parsed, text, headers: res.headers }
}

/** POSTs JSON without a signature (introspection, IdP back channel). */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body)
  })
}
