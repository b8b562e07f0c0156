import { isIP } from 'node:net'
import { Agent, request } from 'undici'
import type { Dispatcher } from 'undici'
import { createAddressPolicy } from './address-policy.js'
import type { AddressPolicy } from './address-policy.js'
import {
  ForbiddenAddressError,
  createGuardedConnector,
  systemResolver
} from './guarded-connector.js'
import type { Resolver } from './guarded-connector.js'
import { SafeFetchError } from './safe-fetch-error.js'

export type { Resolver, ResolvedAddress } from './guarded-connector.js'
export { SafeFetchError, safeFetchErrorReasons } from './safe-fetch-error.js'
export type { SafeFetchErrorReason } from './safe-fetch-error.js'

export interface SafeFetchOptions {
  /** Accept plain `http:` URLs (development only). */
  allowHttp: boolean
  /** Connect to non-public addresses (loopback, RFC 1918, link-local, metadata...). */
  allowPrivate: boolean
  /** CIDR ranges allowed even when `allowPrivate` is false. */
  allowedCidrs?: readonly string[]
  /** Whole-request budget: connect, redirects, headers and body. */
  timeoutMs: number
  /** Larger bodies are refused as `too_large` without being read to the end. */
  maxBodyBytes: number
  /** Redirects followed before giving up with `bad_status`; default 3. */
  maxRedirects?: number
  /** Host name resolver; default node:dns lookup with `all: true`. */
  resolve?: Resolver
  /** Default `opas`. */
  userAgent?: string
}

export interface SafeFetch {
  /** GET `url` as JSON, refusing anything unsafe. Throws {@link SafeFetchError}. */
  getJson(url: string): Promise<unknown>
  /** Close pooled connections. */
  close(): Promise<void>
}

const redirectStatuses = new Set([301, 302, 303, 307, 308])

/**
 * Check a URL before any connection: scheme, no credentials, and IP-literal hosts against the
 * policy (node does not run the lookup for literals, so they are checked here).
 */
export function checkUrl(
  raw: string,
  opts: { allowHttp: boolean; policy: AddressPolicy },
  base?: URL
): URL {
  let url: URL
  try {
    url = new URL(raw, base)
  } catch (cause) {
    throw new SafeFetchError('invalid_url', raw, { cause })
  }
  const ok = url.protocol === 'https:' || (opts.allowHttp && url.protocol === 'http:')
  if (!ok || url.username !== '' || url.password !== '' || url.hostname === '') {
    throw new SafeFetchError('invalid_url', url.href)
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  if (isIP(host) !== 0 && !opts.policy(host)) {
    throw new SafeFetchError('forbidden_address', url.href)
  }
  return url
}

type Body = Dispatcher.ResponseData['body']

const ignore = () => {}

// Destroying an unread undici body emits an "aborted" error; nobody else listens, so swallow it.
function discard(body: Body): void {
  body.on('error', ignore)
  body.destroy()
}

async function readCapped(body: Body, max: number, url: string) {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length
    if (total > max) {
      discard(body)
      throw new SafeFetchError('too_large', url)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, total)
}

function isForbidden(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ForbiddenAddressError) return true
  }
  return false
}

const timeoutCodes = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT'
])

/**
 * Create a JSON fetcher for untrusted, client-supplied URLs (SSRF-safe). Redirects are
 * followed by hand so every hop's URL is re-checked; every connection goes through the
 * guarded lookup so the address checked is the address connected.
 */
export function createSafeFetch(opts: SafeFetchOptions): SafeFetch {
  const policy = createAddressPolicy(opts)
  const maxRedirects = opts.maxRedirects ?? 3
  const headers = { accept: 'application/json', 'user-agent': opts.userAgent ?? 'opas' }
  const agent = new Agent({
    connect: createGuardedConnector({
      policy,
      resolve: opts.resolve ?? systemResolver,
      connectTimeoutMs: opts.timeoutMs
    }),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs
  })

  // `at.url` tracks the current hop so errors name the URL that actually failed.
  async function follow(at: { url: URL }, signal: AbortSignal): Promise<unknown> {
    for (let hop = 0; ; hop++) {
      const url = at.url
      const res = await request(url, { method: 'GET', headers, dispatcher: agent, signal })
      if (redirectStatuses.has(res.statusCode)) {
        discard(res.body)
        const location = res.headers.location
        if (hop >= maxRedirects || typeof location !== 'string') {
          throw new SafeFetchError('bad_status', url.href, { status: res.statusCode })
        }
        at.url = checkUrl(location, { allowHttp: opts.allowHttp, policy }, url)
        continue
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        discard(res.body)
        throw new SafeFetchError('bad_status', url.href, { status: res.statusCode })
      }
      const length = Number(res.headers['content-length'])
      if (Number.isFinite(length) && length > opts.maxBodyBytes) {
        discard(res.body)
        throw new SafeFetchError('too_large', url.href)
      }
      const raw = await readCapped(res.body, opts.maxBodyBytes, url.href)
      try {
        return JSON.parse(raw.toString('utf8')) as unknown
      } catch (cause) {
        throw new SafeFetchError('invalid_document', url.href, { cause })
      }
    }
  }

  return {
    async getJson(raw: string): Promise<unknown> {
      const at = { url: checkUrl(raw, { allowHttp: opts.allowHttp, policy }) }
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), opts.timeoutMs)
      try {
        return await follow(at, controller.signal)
      } catch (err) {
        if (err instanceof SafeFetchError) throw err
        const url = at.url
        if (isForbidden(err)) {
          throw new SafeFetchError('forbidden_address', url.href, { cause: err })
        }
        const code = (err as { code?: unknown } | null)?.code
        if (controller.signal.aborted || (typeof code === 'string' && timeoutCodes.has(code))) {
          throw new SafeFetchError('timeout', url.href, { cause: err })
        }
        throw new SafeFetchError('fetch_failed', url.href, { cause: err })
      } finally {
        clearTimeout(timer)
      }
    },
    close: () => agent.close()
  }
}
