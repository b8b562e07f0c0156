import type { SettingsOf } from './setting-spec.js'
import { integer } from './value-parsers.js'

/** What one request, one address and one client may cost the server. */
export const limitSettings: SettingsOf<
  | 'requestBodyLimitBytes'
  | 'rateLimitWindowSeconds'
  | 'rateLimitPerIp'
  | 'rateLimitPerClient'
  | 'secretAttemptsPerTenant'
  | 'secretAttemptsPerAddress'
> = {
  requestBodyLimitBytes: {
    env: 'REQUEST_BODY_LIMIT_BYTES',
    parser: integer(1024, 16 * 1024 * 1024),
    default: 64 * 1024,
    description:
      'Largest request body accepted on any listener; a larger one is refused with 413 before ' +
      'it is read further. Grant requests are a few kilobytes.',
    origin: 'opas'
  },
  rateLimitWindowSeconds: {
    env: 'RATE_LIMIT_WINDOW_SECONDS',
    parser: integer(1, 86_400),
    default: 60,
    description:
      'Window of the two rate limits below. Limits are shared by every opas process when ' +
      'REDIS_URL is set, and kept per process otherwise.',
    origin: 'opas'
  },
  rateLimitPerIp: {
    env: 'RATE_LIMIT_PER_IP',
    parser: integer(0),
    default: 6000,
    description:
      'Requests one IP address may make to the auth listener (the public one) per window; more ' +
      'get 429 `too_many_attempts`. Behind a proxy, set TRUST_PROXY so the client address is ' +
      'used. 0 disables the limit.',
    origin: 'opas'
  },
  rateLimitPerClient: {
    env: 'RATE_LIMIT_PER_CLIENT',
    parser: integer(0),
    default: 3000,
    description:
      'Signed requests one client (wallet address, or JWK for directed identity) may make per ' +
      'window, counted once its signature is verified (so no one can spend the allowance of ' +
      'another); more get 429 `too_many_attempts`. 0 disables the limit.',
    origin: 'opas'
  },
  secretAttemptsPerTenant: {
    env: 'SECRET_ATTEMPTS_PER_TENANT',
    parser: integer(1, 10_000),
    default: 10,
    description:
      "Tries one address (an IPv6 address's /64) may make at one tenant's API secret in 15 " +
      'minutes, failed or in flight: admin API signatures and console sign-ins count together. ' +
      'Each try is counted before the secret is checked and given back when it was right, so ' +
      'tries sent at once cannot outrun it; more get 429 with Retry-After, even with the right ' +
      'secret, until the window passes. Other addresses are not held back. Shared by every opas ' +
      'process when REDIS_URL is set.',
    origin: 'opas'
  },
  secretAttemptsPerAddress: {
    env: 'SECRET_ATTEMPTS_PER_ADDRESS',
    parser: integer(1, 100_000),
    default: 100,
    description:
      'Tries one address may make at the API secrets of all tenants together in 15 minutes, ' +
      'counted as SECRET_ATTEMPTS_PER_TENANT is: one address cannot try a few secrets at each ' +
      'of many tenants.',
    origin: 'opas'
  }
}
