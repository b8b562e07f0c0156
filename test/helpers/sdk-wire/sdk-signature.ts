import { createHash, sign, type KeyObject } from 'node:crypto'
import { request } from 'node:http'
import type { TestResponse } from '../signed-request.js'
import type { TestClient } from '../wallet-address-server.js'

/**
 * Requests as the official Open Payments SDKs put them on the wire, signed by code written from
 * each SDK's source, not by opas's own signer: if opas and a test shared a signer, a mistake in
 * it would pass unnoticed. Facts and sources: ../shared/reference/sdk-signing.md.
 */

/** A request exactly as an SDK sends it: header names in its spelling, body bytes as sent. */
export interface WireRequest {
  method: 'POST' | 'DELETE'
  url: string
  headers: Record<string, string>
  body?: string
}

/** Changes to an SDK's signing, to prove each refusal holds in that SDK's syntax. */
export interface Tamper {
  /** Unix seconds; default now, as every SDK signs. */
  created?: number
  /** Sign with another key (under the client's keyid). */
  key?: KeyObject
  /** An `alg` parameter other than ed25519, in the SDK's own parameter style. */
  alg?: string
  /** Leave this component out of what is signed. */
  omit?: 'authorization' | 'content-digest'
  /** Change the body after signing. */
  body?: (body: string) => string
}

/** How one SDK writes its signature (every SDK builds the base the same way; see below). */
export interface SignatureStyle {
  /** The covered components, in the SDK's order, for the request it is about to send. */
  components(req: WireRequest): string[]
  /** Signature-Input lists them quoted (`"@method"`) or bare (`@method`, Rust). */
  quoted: boolean
  /** The parameters after the inner list, in the SDK's order, e.g. `;created=1;keyid="k"`. */
  params(p: { created: number; keyid: string; alg: string | undefined }): string
  /** The Signature header value for the base64 signature. */
  signature(base64: string): string
}

/**
 * The components the TypeScript, Go, .NET and PHP SDKs cover, in their order: `authorization`
 * when sent, and the content headers when there is a body.
 */
export function usualComponents(req: WireRequest): string[] {
  return [
    '@method',
    '@target-uri',
    ...(headerOf(req, 'authorization') !== undefined ? ['authorization'] : []),
    ...(req.body ? ['content-digest', 'content-length', 'content-type'] : [])
  ]
}

/** Go and .NET sign alike: quoted names, then `created`, `keyid`, `alg`, and `sig1=:…:`. */
export const createdKeyidAlgStyle: SignatureStyle = {
  components: usualComponents,
  quoted: true,
  params: ({ created, keyid, alg }) =>
    `;created=${created};keyid="${keyid}";alg="${alg ?? 'ed25519'}"`,
  signature: (b64) => `sig1=:${b64}:`
}

/** The value of a header, whatever the SDK's spelling of its name. */
export function headerOf(req: WireRequest, name: string): string | undefined {
  const found = Object.keys(req.headers).find((key) => key.toLowerCase() === name)
  return found === undefined ? undefined : req.headers[found]
}

/** `sha-512=:…:` of the body, as every SDK computes it (RFC 9530). */
export function sha512Digest(body: string): string {
  return `sha-512=:${createHash('sha512').update(body).digest('base64')}:`
}

/**
 * Signs `req` in `style` and returns it with its Signature and Signature-Input headers.
 *
 * Every SDK builds the base alike: one `"name": value` line per component (`@method` upper
 * case, `@target-uri` the URL it sends to, any other the header value), then
 * `"@signature-params": ` and its own Signature-Input value without the `sig1=` label.
 */
export function signWire(
  style: SignatureStyle,
  client: TestClient,
  req: WireRequest,
  tamper: Tamper = {}
): WireRequest {
  const components = style.components(req).filter((c) => c !== tamper.omit)
  const lines = components.map((name) => {
    if (name === '@method') return `"@method": ${req.method}`
    if (name === '@target-uri') return `"@target-uri": ${req.url}`
    return `"${name}": ${headerOf(req, name) ?? ''}`
  })
  const list = components.map((c) => (style.quoted ? `"${c}"` : c)).join(' ')
  const created = tamper.created ?? Math.floor(Date.now() / 1000)
  const input = `(${list})${style.params({ created, keyid: client.keyId, alg: tamper.alg })}`
  const base = [...lines, `"@signature-params": ${input}`].join('\n')
  const signature = sign(null, Buffer.from(base), tamper.key ?? client.privateKey).toString(
    'base64'
  )
  const body = req.body !== undefined && tamper.body ? tamper.body(req.body) : req.body
  return {
    ...req,
    headers: {
      ...req.headers,
      Signature: style.signature(signature),
      'Signature-Input': `sig1=${input}`
    },
    ...(body !== undefined && { body })
  }
}

/** Sends `req` byte for byte as given (node:http adds only Host, unless set, and Connection). */
export function sendWire(req: WireRequest): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(req.url, { method: req.method, headers: req.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        let body: unknown
        try {
          body = text ? JSON.parse(text) : undefined
        } catch {
          body = undefined
        }
        const headers = new Headers()
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') headers.set(name, value)
        }
        resolve({ status: res.statusCode ?? 0, body, text, headers })
      })
    })
    outgoing.on('error', reject)
    outgoing.end(req.body)
  })
}

/** The requests an SDK makes to an authorization server, each as that SDK sends it. */
export interface SdkWireClient {
  name: string
  /** A grant request; `request` is the SDK's grant request without `client`, which it adds. */
  grant(url: string, request: GrantRequest, tamper?: Tamper): WireRequest
  /** Continue with `interactRef`, or poll without one (as far as the SDK can). */
  continue(uri: string, token: string, interactRef?: string, tamper?: Tamper): WireRequest
  cancel(uri: string, token: string, tamper?: Tamper): WireRequest
  /** `token` undefined: the SDK sends no Authorization (PHP's rotation snippet). */
  rotate(manage: string, token: string | undefined, tamper?: Tamper): WireRequest
  revoke(manage: string, token: string, tamper?: Tamper): WireRequest
}

/** A grant request as an app hands it to its SDK, without `client`. */
export interface GrantRequest {
  access_token: { access: unknown[] }
  interact?: { start: string[]; finish?: { method: string; uri: string; nonce: string } }
}

/** How one SDK shapes its requests to the authorization server. */
export interface SdkShape {
  name: string
  style: SignatureStyle
  /** What its HTTP layer sends for this method, URL, GNAP token and body. */
  request(method: WireRequest['method'], url: string, token?: string, body?: string): WireRequest
  /** The URL it sends a grant request to, given the one the app names. */
  grantUrl(url: string): string
  grantBody(request: GrantRequest, walletAddress: string): string
  /** The URL it posts a continuation to. */
  continueUrl(uri: string): string
  continueBody(interactRef: string | undefined, walletAddress: string): string | undefined
}

/** An SDK's client for `client`, from how the SDK shapes and signs its requests. */
export function sdkWireClient(shape: SdkShape, client: TestClient): SdkWireClient {
  const signed = (req: WireRequest, tamper: Tamper | undefined) =>
    signWire(shape.style, client, req, tamper)
  return {
    name: shape.name,
    grant: (url, request, tamper) =>
      signed(
        shape.request(
          'POST',
          shape.grantUrl(url),
          undefined,
          shape.grantBody(request, client.walletAddress)
        ),
        tamper
      ),
    continue: (uri, token, interactRef, tamper) =>
      signed(
        shape.request(
          'POST',
          shape.continueUrl(uri),
          token,
          shape.continueBody(interactRef, client.walletAddress)
        ),
        tamper
      ),
    cancel: (uri, token, tamper) => signed(shape.request('DELETE', uri, token), tamper),
    rotate: (manage, token, tamper) => signed(shape.request('POST', manage, token), tamper),
    revoke: (manage, token, tamper) => signed(shape.request('DELETE', manage, token), tamper)
  }
}
