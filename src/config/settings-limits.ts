import type { SettingsOf } from './setting-spec.js'
import { integer } from './value-parsers.js'

/** What one request, one address and one client may cost the server. */
export const limitSettings: SettingsOf<
  'requestBodyLimitBytes' | 'rateLimitWindowSeconds' | 'rateLimitPerIp' | 'rateLimitPerClient'
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
  }
}
