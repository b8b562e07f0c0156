import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract
} from 'rate-limiter-flexible'
import { tooManyAttempts } from '../gnap/gnap-error.js'

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
   * Seconds until `ip` may try to sign in to the console again: 0 while its failed sign-ins in
   * the window are fewer than allowed.
   */
  signInWait(ip: string): Promise<number>
  /** Counts one failed console sign-in from `ip`. */
  signInFailed(ip: string): Promise<void>
  close(): Promise<void>
}

export interface RateLimitOptions {
  windowSeconds: number
  /** 0 disables. */
  perIp: number
  /** 0 disables. */
  perClient: number
  /** Failed console sign-ins per IP address in SIGN_IN_WINDOW_SECONDS; 0 disables. */
  signInAttempts?: number
  redis?: {
    url: string
    tls?: { caFile?: string; keyFile?: string; certFile?: string }
  }
  logger: Logger
}

function createRedis(options: NonNullable<RateLimitOptions['redis']>, logger: Logger): Redis {
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
  redis: Redis | undefined
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

/** The window of failed console sign-ins: long enough to make guessing an API secret useless. */
export const SIGN_IN_WINDOW_SECONDS = 15 * 60

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

export function createRateLimits(options: RateLimitOptions): RateLimits {
  const signInAttempts = options.signInAttempts ?? 0
  const enabled = options.perIp > 0 || options.perClient > 0 || signInAttempts > 0
  const redis = enabled && options.redis ? createRedis(options.redis, options.logger) : undefined
  const ip = createLimiter('ip', options.perIp, options.windowSeconds, redis)
  const client = createLimiter('client', options.perClient, options.windowSeconds, redis)
  const signIn = createLimiter('sign-in', signInAttempts, SIGN_IN_WINDOW_SECONDS, redis)
  return {
    consumeIp: (key) => consume(ip, key, 'address'),
    consumeClient: (key) => consume(client, key, 'client'),
    async signInWait(key) {
      const res = signIn && (await signIn.get(key))
      return res && res.consumedPoints >= signInAttempts ? secondsOf(res) : 0
    },
    async signInFailed(key) {
      // Over the limit it rejects: the failure is still counted, and the next attempt waits.
      await signIn?.consume(key).catch((rejection: unknown) => {
        if (!(rejection instanceof RateLimiterRes)) throw rejection
      })
    },
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect())
    }
  }
}
