import type { KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { ClientKeyError } from './client-key-error.js'
import { FetchCache, type CacheEvent } from './fetch-cache.js'
import { parseJwks } from './jwk.js'
import { createSafeFetch, SafeFetchError } from './safe-fetch.js'
import type { Resolver } from './safe-fetch.js'
import { parseWalletAddressDocument } from './wallet-address-document.js'
import type { WalletAddressDocument } from './wallet-address-document.js'

export interface ClientKeysOptions {
  /** Refuse plain http: URLs unless true (development only). */
  allowHttp: boolean
  /** Refuse non-public addresses (private, loopback, link-local, metadata...) unless true. */
  allowPrivate: boolean
  /** CIDR ranges reachable even when allowPrivate is false (e.g. a docker network). */
  allowedCidrs?: readonly string[]
  /** Whole-request timeout (connect + headers + body). */
  timeoutMs: number
  /** Response body cap; larger is `too_large`. */
  maxBodyBytes: number
  /** How long a fetched JWKS / wallet address document is fresh. */
  cacheTtlMs: number
  /** How long a failed fetch is remembered so a bad client cannot make us hammer a host. */
  failureTtlMs?: number
  /** At most one refetch per URL per interval for a keyid missing from a fresh JWKS. */
  unknownKidRefetchIntervalMs?: number
  /** LRU bound per cache. */
  maxEntries?: number
  /** Host name resolver for outbound fetches; default node:dns lookup. */
  resolve?: Resolver
  now: () => number
  logger: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void }
  /** Cache hits, fetches and failed fetches, for metrics. */
  observe?: (cache: 'jwks' | 'wallet_address', event: CacheEvent) => void
}

function stripSlash(walletAddress: string): string {
  return walletAddress.endsWith('/') ? walletAddress.slice(0, -1) : walletAddress
}

function unknownKey(jwksUrl: string, keyid: string): ClientKeyError {
  return new ClientKeyError('unknown_key', jwksUrl, {
    cause: new Error(`no key ${JSON.stringify(keyid)}`)
  })
}

/**
 * Client key and wallet address document lookup for the AS (Open Payments: a client is
 * identified by its wallet address; its keys are at `{walletAddress}/jwks.json`). Fetches are
 * SSRF-safe, single-flight, cached in bounded LRUs with the injected clock, and failures are
 * negatively cached.
 */
export function createClientKeys(opts: ClientKeysOptions) {
  const fetcher = createSafeFetch(opts)
  const maxEntries = opts.maxEntries ?? 10_000
  const failureTtlMs = opts.failureTtlMs ?? 5_000
  const refetchInterval = opts.unknownKidRefetchIntervalMs ?? 10_000
  const { now, logger } = opts

  async function fetchJson(url: string): Promise<unknown> {
    // A wallet address is a plain URL: a query or fragment would corrupt `/jwks.json`.
    if (url.includes('?') || url.includes('#')) throw new ClientKeyError('invalid_url', url)
    try {
      return await fetcher.getJson(url)
    } catch (err) {
      if (err instanceof SafeFetchError) throw new ClientKeyError(err.reason, url, { cause: err })
      throw err
    }
  }

  const base = { maxEntries, ttlMs: opts.cacheTtlMs, failureTtlMs, now, logger }
  const observeJwks = opts.observe && ((e: CacheEvent) => opts.observe?.('jwks', e))
  const jwks = new FetchCache<ReadonlyMap<string, KeyObject>>({
    ...base,
    observe: observeJwks,
    async load(url) {
      return parseJwks(await fetchJson(url), url, ({ kid, problem }) =>
        logger.debug({ url, kid, problem }, 'skipping invalid client key')
      )
    }
  })
  const documents = new FetchCache<WalletAddressDocument>({
    ...base,
    observe: opts.observe && ((e) => opts.observe?.('wallet_address', e)),
    load: async (url) => parseWalletAddressDocument(await fetchJson(url), url)
  })
  // When each JWKS was last refetched because of an unknown kid (rate limit per URL).
  const kidRefetchedAt = new LRUCache<string, number>({ max: maxEntries })

  function find(jwksUrl: string, keyid: string) {
    return (keys: ReadonlyMap<string, KeyObject>): KeyObject => {
      const key = keys.get(keyid)
      if (key === undefined) throw unknownKey(jwksUrl, keyid)
      return key
    }
  }

  // A kid missing from a fresh JWKS may be a newly added key: refetch, but at most once per
  // interval per URL so a stream of made-up kids cannot turn into a stream of fetches.
  function refetchForKid(jwksUrl: string, keyid: string): Promise<KeyObject> {
    if (!jwks.isLoading(jwksUrl)) {
      const t = now()
      const last = kidRefetchedAt.get(jwksUrl)
      if (last !== undefined && t - last < refetchInterval) {
        return Promise.reject(unknownKey(jwksUrl, keyid))
      }
      kidRefetchedAt.set(jwksUrl, t)
    }
    return jwks.refresh(jwksUrl).then(find(jwksUrl, keyid))
  }

  /** Key `keyid` of the JWKS at `jwksUrl`: cached, with one rate-limited refetch per unknown kid. */
  function getKeyAt(jwksUrl: string, keyid: string): Promise<KeyObject> {
    const entry = jwks.peek(jwksUrl)
    if (entry !== undefined && entry.ok) {
      observeJwks?.('hit')
      const key = entry.value.get(keyid)
      return key !== undefined ? Promise.resolve(key) : refetchForKid(jwksUrl, keyid)
    }
    return jwks.get(jwksUrl).then(find(jwksUrl, keyid))
  }

  return {
    /**
     * Key `keyid` of the client at `walletAddress`, from `{walletAddress}/jwks.json`.
     * Cached; an unknown kid in a cached JWKS triggers one rate-limited refetch.
     * @throws ClientKeyError
     */
    getKey(walletAddress: string, keyid: string): Promise<KeyObject> {
      return getKeyAt(`${stripSlash(walletAddress)}/jwks.json`, keyid)
    },

    /**
     * Key `keyid` of a JWKS named by its URL (a resource server's, from the operator's
     * configuration), cached and refetched as a client's.
     * @throws ClientKeyError
     */
    getKeyAt,

    /**
     * The wallet address document (publicName for the consent screen, authServer...).
     * Cached like keys.
     * @throws ClientKeyError
     */
    getWalletAddress(walletAddress: string): Promise<WalletAddressDocument> {
      return documents.get(walletAddress)
    },

    /** Close pooled outbound connections. */
    close(): Promise<void> {
      return fetcher.close()
    }
  }
}

export type ClientKeys = ReturnType<typeof createClientKeys>
