import type { NodeEnv } from './config-types.js'
import { logFormats, logLevels, nodeEnvs } from './config-types.js'
import type { SettingsOf } from './setting-spec.js'
import type { SettingSpec } from './setting-spec.js'
import { baseUrl, bindAddress, boolean, integer, maxTimerMs, oneOf, text } from './value-parsers.js'

/** Fixed defaults that the loader needs before any other default can be computed. */
export const defaultNodeEnv = 'development' satisfies NodeEnv
export const defaultAuthPort = 3006
export const defaultIntrospectionPort = 3007
export const defaultListenHost = '0.0.0.0'
export const defaultEnvFile = '.env'

// 0 asks the OS for any free port, which tests rely on to run listeners side by side.
const port = integer(0, 65535)

/**
 * One listener's own bind address, LISTEN_HOST unless set: the internal listeners can stay on a
 * private interface or on loopback while the auth listener faces the network.
 */
function listenerHost(env: string, description: string): SettingSpec<string> {
  return {
    env,
    parser: bindAddress(),
    default: ({ listenHost }) => listenHost,
    defaultText: '`LISTEN_HOST`',
    description,
    origin: 'opas'
  }
}

/** Process-level settings: environment, logging, listeners and their public URL. */
export const serverSettings: SettingsOf<
  | 'nodeEnv'
  | 'logLevel'
  | 'logFormat'
  | 'listenHost'
  | 'authPort'
  | 'introspectionPort'
  | 'interactionPort'
  | 'adminPort'
  | 'serviceApiPort'
  | 'authListenHost'
  | 'interactionListenHost'
  | 'introspectionListenHost'
  | 'adminListenHost'
  | 'serviceApiListenHost'
  | 'authServerUrl'
  | 'introspectionUrl'
  | 'trustProxy'
  | 'shutdownTimeoutMs'
  | 'envFile'
> = {
  nodeEnv: {
    env: 'NODE_ENV',
    parser: oneOf(nodeEnvs),
    default: defaultNodeEnv,
    description:
      '`production` makes AUTH_SERVER_URL, IDENTITY_SERVER_URL and the secrets mandatory and ' +
      'stops client fetches over http or to private addresses. Other values behave alike.',
    origin: 'rafiki'
  },
  logLevel: {
    env: 'LOG_LEVEL',
    parser: oneOf(logLevels),
    default: 'info',
    description: 'Minimum level of the (pino) log lines written to stdout.',
    origin: 'rafiki'
  },
  logFormat: {
    env: 'LOG_FORMAT',
    parser: oneOf(logFormats),
    default: 'auto',
    description:
      '`json`: one JSON object per line, for log collectors. `pretty`: readable, coloured lines ' +
      'for a terminal. `auto`: `pretty` when stdout is a terminal, `json` otherwise.',
    origin: 'opas'
  },
  listenHost: {
    env: 'LISTEN_HOST',
    parser: bindAddress(),
    default: defaultListenHost,
    description:
      'Address every listener binds to unless its own `*_LISTEN_HOST` is set; ' +
      '`127.0.0.1` keeps the server off the network, `::` listens on IPv6 too.',
    origin: 'opas'
  },
  authPort: {
    env: 'AUTH_PORT',
    parser: port,
    default: defaultAuthPort,
    description:
      'Port of the public GNAP listener (grant requests, continuation, token management).',
    origin: 'rafiki'
  },
  introspectionPort: {
    env: 'INTROSPECTION_PORT',
    parser: port,
    default: defaultIntrospectionPort,
    description: 'Port of the token introspection listener that the resource server calls.',
    origin: 'rafiki'
  },
  interactionPort: {
    env: 'INTERACTION_PORT',
    parser: port,
    default: 3009,
    description:
      'Port of the interaction listener: the back channel the identity provider uses to read ' +
      'and decide on a grant (`x-idp-secret`). The browser endpoints stay on AUTH_PORT.',
    origin: 'rafiki'
  },
  adminPort: {
    env: 'ADMIN_PORT',
    parser: port,
    default: 3003,
    description: 'Port of the admin API listener, which only the operator should reach.',
    origin: 'rafiki'
  },
  serviceApiPort: {
    env: 'SERVICE_API_PORT',
    parser: port,
    default: 3011,
    description: 'Port of the internal service API (tenant management, called by the backend).',
    origin: 'rafiki'
  },
  authListenHost: listenerHost(
    'AUTH_LISTEN_HOST',
    'Address the auth listener binds to (clients and browsers: the one listener meant for the internet).'
  ),
  interactionListenHost: listenerHost(
    'INTERACTION_LISTEN_HOST',
    "Address the interaction listener binds to (the identity provider's back channel)."
  ),
  introspectionListenHost: listenerHost(
    'INTROSPECTION_LISTEN_HOST',
    'Address the introspection listener binds to (resource servers; unauthenticated, as in Rafiki).'
  ),
  adminListenHost: listenerHost(
    'ADMIN_LISTEN_HOST',
    'Address the admin listener binds to (the admin API, the console, the unauthenticated `/metrics`).'
  ),
  serviceApiListenHost: listenerHost(
    'SERVICE_API_LISTEN_HOST',
    "Address the service API binds to (Rafiki's backend calls it). Beyond loopback (anything but " +
      '127.0.0.0/8, `::1` or `localhost`), production needs SERVICE_API_SECRET or SERVICE_API_AUTH=none.'
  ),
  authServerUrl: {
    env: 'AUTH_SERVER_URL',
    parser: baseUrl(),
    default: ({ authPort }) => `http://localhost:${authPort}`,
    defaultText: '`http://localhost:{AUTH_PORT}`',
    requiredInProduction: true,
    description:
      'Public base URL of the auth listener, as clients reach it: grant, continue, token and ' +
      'interaction URLs are built from it and signed requests are checked against it. ' +
      'An absolute http(s) URL without query or fragment; a trailing slash is removed.',
    origin: 'rafiki'
  },
  introspectionUrl: {
    env: 'INTROSPECTION_URL',
    parser: baseUrl(),
    default: ({ introspectionPort }) => `http://localhost:${introspectionPort}`,
    defaultText: '`http://localhost:{INTROSPECTION_PORT}`',
    description:
      'URL of the introspection listener, as resource servers reach it: the ' +
      '`introspection_endpoint` of `/.well-known/gnap-as-rs` (RFC 9767 §3.1), and what a ' +
      'resource server signs under INTROSPECTION_AUTH=signature. Same form as AUTH_SERVER_URL.',
    origin: 'opas'
  },
  trustProxy: {
    env: 'TRUST_PROXY',
    parser: boolean(),
    default: false,
    description:
      'Set to true behind a TLS-terminating proxy, so the client address and protocol are ' +
      'taken from X-Forwarded-* headers (and secure cookies work).',
    origin: 'rafiki'
  },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    parser: integer(1, maxTimerMs),
    default: 10000,
    description:
      'On SIGTERM or SIGINT, how long to wait for in-flight requests before exiting anyway.',
    origin: 'opas'
  },
  envFile: {
    env: 'ENV_FILE',
    parser: text('file path'),
    default: defaultEnvFile,
    environmentOnly: true,
    description:
      'dotenv file read at start; variables of the real environment win over it. ' +
      'A missing default file is ignored, a missing file named here is an error.',
    origin: 'rafiki'
  }
}
