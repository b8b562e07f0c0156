import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type * as IoRedis from 'ioredis'
import ipaddr from 'ipaddr.js'
import type { Logger } from 'pino'
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract
} from 'rate-limiter-flexible'
import { tooManyAttempts } from '../gnap/gnap-error.js'
import { isUuid } from '../gnap/wire.js'

/**
 * One attempt at a tenant's API secret, counted before the secret is checked: `succeeded` gives
 * it back once the secret proved right; a refused attempt was not checked at all.
 */
export type SecretAttempt =
  { allowed: true; succeeded: () => Promise<void> } | { allowed: false; retryAfterSeconds: number }

/**
 * Per-IP and per-client request budgets (fixed windows). With Redis they are shared by every opas
 * process; without it, or while Redis is unreachable, each process counts on its own (an
 * in-memory "insurance" limiter), so a Redis outage never turns into refused requests.
 */
export interface RateLimits {
  /** Counts one request from `ip`. @throws GnapError 429 `too_many_attempts` when over. */
  consumeIp(ip: string): Promise<void>
  /** Counts one verified signed request of `client`. @throws GnapError 429 when over. */
  consumeClient(client: string): Promise<void>
  /**
   * Counts one attempt from `ip` at the API secret of `tenantId` (an admin API signature, a
   * console sign-in: both doors share the budgets), before the caller checks it, against two
   * budgets per SECRET_ATTEMPT_WINDOW_SECONDS: the attempts at that tenant from that address,
   * and the attempts at any tenant from that address. No budget is the tenant's alone, so no
   * one address can lock a tenant out for everyone else. Counting first makes concurrent
   * attempts take their places one by one: of any number sent at once, at most the budget are
   * checked. The caller gives a right secret's attempt back (`succeeded`).
   */
  attemptSecret(tenantId: string, ip: string): Promise<SecretAttempt>
  close(): Promise<void>
}

export interface RateLimitOptions {
  windowSeconds: number
  /** 0 disables. */
  perIp: number
  /** 0 disables. */
  perClient: number
  /** Failed attempts at a tenant's API secret in SECRET_ATTEMPT_WINDOW_SECONDS; 0 disables. */
  secretAttempts?: {
    /** At one tenant from one address. */
    perTenant: number
    /** At any tenant from one address. */
    perAddress: number
  }
  redis?: {
    url: string
    tls?: { caFile?: string; keyFile?: string; certFile?: string }
  }
  logger: Logger
}

/**
 * ioredis (a CommonJS package) is loaded only when REDIS_URL is set, at start: a process without
 * Redis does not carry its ~4 MB (issue 29).
 */
function createRedis(
  options: NonNullable<RateLimitOptions['redis']>,
  logger: Logger
): IoRedis.Redis {
  const { Redis } = createRequire(import.meta.url)('ioredis') as typeof IoRedis
  const { tls } = options
  const files = tls && (tls.caFile || tls.keyFile || tls.certFile)
  const redis = new Redis(options.url, {
    // A limiter must answer now: while Redis is down, commands fail at once and the in-memory
    // limiter counts instead of requests queueing behind a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    ...(files
      ? {
          tls: {
            // Unlike Rafiki (weakness §12.15), a CA file adds trust; it never disables checks.
            ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
            key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
            cert: tls.certFile ? readFileSync(tls.certFile) : undefined
          }
        }
      : {})
  })
  let healthy = true
  redis.on('error', (err: Error) => {
    // Once per outage, not once per reconnect attempt.
    if (healthy) logger.warn({ err }, 'redis unreachable: rate limits counted per process')
    healthy = false
  })
  redis.on('ready', () => {
    if (!healthy) logger.info('redis reachable again: rate limits shared')
    healthy = true
  })
  return redis
}

function createLimiter(
  name: string,
  points: number,
  duration: number,
  redis: IoRedis.Redis | undefined
): RateLimiterAbstract | undefined {
  if (points === 0) return undefined
  const memory = new RateLimiterMemory({ points, duration, keyPrefix: name })
  if (!redis) return memory
  return new RateLimiterRedis({
    storeClient: redis,
    points,
    duration,
    keyPrefix: `opas:rate:${name}`,
    insuranceLimiter: memory
  })
}

/** The window of attempts at API secrets: long enough to make guessing one useless. */
export const SECRET_ATTEMPT_WINDOW_SECONDS = 15 * 60

/**
 * The address a budget is kept for: an IPv4 address (also when IPv4-mapped), or an IPv6
 * address's /64, the block one subscriber is usually given, which would otherwise be 2^64
 * budgets.
 */
export function addressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4)
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`
}

/** Whole seconds until a limiter's window has room again (RFC 9110 §10.2.3 Retry-After). */
const secondsOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000))

async function consume(
  limiter: RateLimiterAbstract | undefined,
  key: string,
  what: string
): Promise<void> {
  if (limiter === undefined) return
  try {
    await limiter.consume(key)
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection
    throw tooManyAttempts(`too many requests from this ${what}`, undefined, {
      headers: { 'retry-after': String(secondsOf(rejection)) }
    })
  }
}

/**
 * Takes one point from each budget in turn, the address's first (so that an address over its
 * budget adds no keys); when one refuses, every point taken is given back, the refusing
 * budget's included (a refused consume still counts its point), since the attempt will not be
 * checked: tries refused over budget neither count nor lengthen the wait, and a right secret
 * sent while the budget is spent costs nothing once the window has room again.
 */
async function takeAll(
  budgets: readonly (readonly [RateLimiterAbstract, string])[]
): Promise<SecretAttempt> {
  const taken: (readonly [RateLimiterAbstract, string])[] = []
  const giveBack = () => Promise.all(taken.map(([limiter, key]) => limiter.reward(key, 1)))
  for (const budget of budgets) {
    try {
      await budget[0].consume(budget[1])
    } catch (rejection) {
      const refused = rejection instanceof RateLimiterRes
      if (refused) taken.push(budget)
      await giveBack()
      if (!refused) throw rejection
      return { allowed: false, retryAfterSeconds: secondsOf(rejection) }
    }
    taken.push(budget)
  }
  return { allowed: true, succeeded: async () => void (await giveBack()) }
}

export function createRateLimits(options: RateLimitOptions): RateLimits {
  const secretAttempts = options.secretAttempts ?? { perTenant: 0, perAddress: 0 }
  const enabled =
    options.perIp > 0 ||
    options.perClient > 0 ||
    secretAttempts.perTenant > 0 ||
    secretAttempts.perAddress > 0
  const redis = enabled && options.redis ? createRedis(options.redis, options.logger) : undefined
  const ip = createLimiter('ip', options.perIp, options.windowSeconds, redis)
  const client = createLimiter('client', options.perClient, options.windowSeconds, redis)
  const window = SECRET_ATTEMPT_WINDOW_SECONDS
  const secretPerAddress = createLimiter('secret', secretAttempts.perAddress, window, redis)
  const secretPerTenant = createLimiter('tenant-secret', secretAttempts.perTenant, window, redis)
  return {
    consumeIp: (key) => consume(ip, key, 'address'),
    consumeClient: (key) => consume(client, key, 'client'),
    attemptSecret(tenantId, from) {
      const address = addressKey(from)
      // Only a well-formed id names a budget of its own: any other string is one key.
      const tenant = isUuid(tenantId) ? tenantId.toLowerCase() : 'malformed'
      return takeAll([
        ...(secretPerAddress ? [[secretPerAddress, address] as const] : []),
        ...(secretPerTenant ? [[secretPerTenant, `${tenant} ${address}`] as const] : [])
      ])
    },
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect())
    }
  }
}
