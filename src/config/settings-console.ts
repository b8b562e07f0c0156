import { consoleModes } from './config-types.js'
import type { SettingsOf } from './setting-spec.js'
import { integer, oneOf } from './value-parsers.js'

/** The operator console on the admin listener. */
export const consoleSettings: SettingsOf<'console' | 'consoleSessionTtlSeconds'> = {
  console: {
    env: 'CONSOLE',
    parser: oneOf(consoleModes),
    default: 'on',
    description:
      'The operator console: web pages at `/` on ADMIN_PORT where the operator (every tenant) or ' +
      'a tenant (its own grants) signs in with its tenant id and API secret to find, read and ' +
      'revoke grants, manage tenants and watch the last hour. `off` serves none of it. The admin ' +
      "port is the operator's own: keep it on a private network.",
    origin: 'opas'
  },
  consoleSessionTtlSeconds: {
    env: 'CONSOLE_SESSION_TTL_SECONDS',
    parser: integer(60, 86_400),
    default: 3600,
    description:
      'A console session ends after this long without a page being opened, and in any case ' +
      'twelve hours after signing in (or at sign-out, or when the API secret changes).',
    origin: 'opas'
  }
}
