import { createContentDigest, signMessage } from '../../src/http-signatures/index.js'
import { distinctCreated, send, type TestResponse } from '../helpers/signed-request.js'
import type { TestClient } from '../helpers/wallet-address-server.js'

/** One request to a GNAP client endpoint, as the SDK sends it. */
export interface Target {
  url: string
  method: 'POST' | 'DELETE'
  body?: Record<string, unknown>
  token?: string
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

/** The components the SDK covers for this target. */
export const sdkComponents = (t: Target) => [
  '@method',
  '@target-uri',
  ...(t.token !== undefined ? ['authorization'] : []),
  ...(t.body !== undefined ? ['content-digest', 'content-length', 'content-type'] : [])
]

export const coveredWithout = (t: Target, name: string) =>
  sdkComponents(t).filter((c) => c !== name)

export interface CraftOptions {
  /** Sign over this URI instead of the one the request is sent to. */
  signUrl?: string
  /** false: send the body without a Content-Digest header. */
  contentDigest?: boolean
  components?: string[]
  /** Replace body, Content-Length and Content-Digest after signing. */
  replaceBody?: Record<string, unknown>
  /** Added after signing (not covered). */
  headers?: Record<string, string>
  /** false: no Signature / Signature-Input at all. */
  sign?: boolean
}

/**
 * What `signedRequest` cannot express: a signature over another URI, a body without any
 * Content-Digest, a body swapped together with its digest, or no signature at all.
 */
export async function crafted(
  client: TestClient,
  t: Target,
  o: CraftOptions = {}
): Promise<TestResponse> {
  const headers: Record<string, string> = { accept: 'application/json' }
  let body = t.body === undefined ? undefined : JSON.stringify(t.body)
  const setBody = (value: string) => {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(value))
    if (o.contentDigest !== false) {
      headers['content-digest'] = createContentDigest(Buffer.from(value), 'sha-512')
    }
  }
  if (body !== undefined) setBody(body)
  if (t.token !== undefined) headers.authorization = `GNAP ${t.token}`
  const signature =
    o.sign === false
      ? {}
      : signMessage(
          {
            method: t.method,
            targetUri: o.signUrl ?? t.url,
            headers,
            body: body === undefined ? undefined : Buffer.from(body)
          },
          {
            key: client.privateKey,
            keyid: client.keyId,
            created: distinctCreated(
              JSON.stringify([t.method, o.signUrl ?? t.url, t.token, body, o.components])
            ),
            components: o.components ?? sdkComponents(t)
          }
        )
  if (o.replaceBody !== undefined) {
    body = JSON.stringify(o.replaceBody)
    setBody(body)
  }
  return send(t.url, {
    method: t.method,
    headers: { ...headers, ...signature, ...o.headers },
    body
  })
}
