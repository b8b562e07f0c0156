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
  label?: string
  components?: string[]
  headers?: Record<string, string>
  /** Changes the body after signing (a tampered request). */
  tamperBody?: (body: string) => string
  digestAlgorithm?: 'sha-256' | 'sha-512'
}

export interface TestResponse {
  status: number
  body: unknown
  text: string
  headers: Headers
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
      created: options.created ?? Math.floor(Date.now() / 1000),
      label: options.label ?? 'sig1',
      components
    }
  )
  const sent = body !== undefined && options.tamperBody ? options.tamperBody(body) : body
  if (sent !== undefined) headers['content-length'] = String(Buffer.byteLength(sent))
  return send(url, { method, headers: { ...headers, ...signed }, body: sent })
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
