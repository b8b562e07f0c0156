import { sign as cryptoSign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { isValidKeyStr, serializeInnerList } from 'structured-headers'
import { createSignatureBase } from './components.js'
import type { HttpMessage } from './types.js'

export interface SignOptions {
  /** Ed25519 private key. */
  key: KeyObject
  keyid: string
  /** Unix seconds. */
  created: number
  /** Default 'sig1', as the Open Payments SDKs use. */
  label?: string
  /** Default: what the Open Payments SDKs cover (see {@link defaultComponents}). */
  components?: string[]
  /** RFC 9421 §2.3 `nonce`, which no SDK sends; opas then refuses a repeat of the request. */
  nonce?: string
}

export interface SignatureHeaders {
  'signature-input': string
  signature: string
}

/**
 * The components the Open Payments SDKs cover (RFC 9635 §7.3.1): `@method`, `@target-uri`,
 * `authorization` when present, and with a body `content-digest` plus `content-length` and
 * `content-type` when present.
 */
export function defaultComponents(msg: HttpMessage): string[] {
  const components = ['@method', '@target-uri']
  if (msg.headers.authorization !== undefined) components.push('authorization')
  if (msg.body !== undefined && msg.body.length > 0) {
    components.push('content-digest')
    if (msg.headers['content-length'] !== undefined) components.push('content-length')
    if (msg.headers['content-type'] !== undefined) components.push('content-type')
  }
  return components
}

/**
 * Sign a request the way the Open Payments SDKs do (Ed25519, parameters `keyid` then
 * `created`). The message must already carry any covered headers, e.g. Content-Digest
 * from `createContentDigest`. Returns the headers to add.
 *
 * @throws TypeError for a non-Ed25519 key or an invalid label; SignatureError when a
 *   covered component cannot be produced.
 */
export function signMessage(msg: HttpMessage, opts: SignOptions): SignatureHeaders {
  const { key, keyid, created } = opts
  const label = opts.label ?? 'sig1'
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('signMessage needs an Ed25519 key')
  // RFC 8941 §3.2: the label is a dictionary key.
  if (!isValidKeyStr(label)) throw new TypeError(`invalid signature label ${label}`)
  const components = opts.components ?? defaultComponents(msg)
  const params = serializeInnerList([
    components.map((c) => [c, new Map()]),
    new Map<string, string | number>([
      ['keyid', keyid],
      ['created', created],
      ...(opts.nonce === undefined ? [] : ([['nonce', opts.nonce]] as const))
    ])
  ])
  const base = createSignatureBase(msg, components, params)
  const signature = cryptoSign(null, Buffer.from(base, 'latin1'), key).toString('base64')
  return { 'signature-input': `${label}=${params}`, signature: `${label}=:${signature}:` }
}
