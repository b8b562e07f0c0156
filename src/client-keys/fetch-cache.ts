import { LRUCache } from 'lru-cache'
import { ClientKeyError } from './client-key-error.js'

/** A cache slot: a fetched value or a remembered failure, fresh until `freshUntil` (ms). */
export type CacheEntry<T> =
  | { readonly ok: true; readonly value: T; readonly freshUntil: number }
  | { readonly ok: false; readonly error: ClientKeyError; readonly freshUntil: number }

export interface FetchCacheOptions<T> {
  maxEntries: number
  ttlMs: number
  failureTtlMs: number
  now: () => number
  logger: { warn(obj: object, msg: string): void }
  /** Fetch and parse the value for a key; should throw ClientKeyError. */
  load(key: string): Promise<T>
  /** Told of every answer from the cache (`hit`), every fetch (`miss`) and failed fetch. */
  observe?: (event: CacheEvent) => void
}

export type CacheEvent = 'hit' | 'miss' | 'failure'

/**
 * Bounded LRU of fetched documents with fresh-until times from the injected clock, a negative
 * cache for failures, and single flight: concurrent callers for one key share one load.
 * lru-cache's own TTL is not used because it reads the real clock.
 */
export class FetchCache<T> {
  private readonly entries: LRUCache<string, CacheEntry<T>>
  private readonly inflight = new Map<string, Promise<T>>()
  private readonly opts: FetchCacheOptions<T>

  constructor(opts: FetchCacheOptions<T>) {
    this.opts = opts
    this.entries = new LRUCache({ max: opts.maxEntries })
  }

  /** The fresh entry for `key`, if any. Synchronous: this is the hot path. */
  peek(key: string): CacheEntry<T> | undefined {
    const entry = this.entries.get(key)
    return entry !== undefined && this.opts.now() < entry.freshUntil ? entry : undefined
  }

  isLoading(key: string): boolean {
    return this.inflight.has(key)
  }

  /** The value for `key`: fresh cache, else a (shared) load. Throws ClientKeyError. */
  get(key: string): Promise<T> {
    const entry = this.peek(key)
    if (entry === undefined) return this.refresh(key)
    this.opts.observe?.('hit')
    return entry.ok ? Promise.resolve(entry.value) : Promise.reject(copy(entry.error))
  }

  /**
   * Load `key` now, ignoring freshness (joins a load already in flight). A failed load never
   * evicts a still-fresh value: it is remembered only when there is nothing fresh to keep.
   */
  refresh(key: string): Promise<T> {
    const running = this.inflight.get(key)
    if (running !== undefined) return running
    const p = this.load(key).finally(() => this.inflight.delete(key))
    this.inflight.set(key, p)
    return p
  }

  private async load(key: string): Promise<T> {
    this.opts.observe?.('miss')
    try {
      const value = await this.opts.load(key)
      this.entries.set(key, { ok: true, value, freshUntil: this.opts.now() + this.opts.ttlMs })
      return value
    } catch (err) {
      const error =
        err instanceof ClientKeyError
          ? err
          : new ClientKeyError('fetch_failed', key, { cause: err })
      this.opts.observe?.('failure')
      this.opts.logger.warn({ url: error.url, reason: error.reason }, 'client key fetch failed')
      const current = this.peek(key)
      if (current === undefined || !current.ok) {
        const freshUntil = this.opts.now() + this.opts.failureTtlMs
        this.entries.set(key, { ok: false, error, freshUntil })
      }
      throw error
    }
  }
}

// A remembered failure is rethrown as a new error so callers never share a mutable instance.
function copy(error: ClientKeyError): ClientKeyError {
  return new ClientKeyError(error.reason, error.url, { cause: error.cause })
}
