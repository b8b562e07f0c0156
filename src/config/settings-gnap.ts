import type { DefaultContext, SettingsOf } from './setting-spec.js'
import { signatureReplayModes } from './config-types.js'
import { boolean, cidrList, integer, maxTimerMs, oneOf } from './value-parsers.js'

// Outside production, wallet addresses are usually http://localhost, so fetching them must work.
const allowOutsideProduction = ({ nodeEnv }: DefaultContext): boolean => nodeEnv !== 'production'
const allowOutsideProductionText = '`true`; `false` in production'

/** Grant lifecycle, interaction policy, request signatures and fetching client keys. */
export const gnapSettings: SettingsOf<
  | 'waitSeconds'
  | 'interactionExpirySeconds'
  | 'accessTokenExpirySeconds'
  | 'incomingPaymentInteraction'
  | 'quoteInteraction'
  | 'listAllAccessInteraction'
  | 'signatureMaxAgeSeconds'
  | 'signatureReplay'
  | 'clientFetchAllowHttp'
  | 'clientFetchAllowPrivate'
  | 'clientFetchTimeoutMs'
  | 'clientFetchMaxBytes'
  | 'clientKeyCacheTtlSeconds'
  | 'clientFetchAllowedCidrs'
> = {
  waitSeconds: {
    env: 'WAIT_SECONDS',
    parser: integer(0),
    default: 5,
    description:
      'Seconds a client is told to wait (`continue.wait`) before polling a pending grant; ' +
      '0 lets it poll at once.',
    origin: 'rafiki'
  },
  interactionExpirySeconds: {
    env: 'INTERACTION_EXPIRY_SECONDS',
    parser: integer(1),
    default: 600,
    description:
      'Seconds a user has to finish an interaction before the grant can no longer be approved.',
    origin: 'rafiki'
  },
  accessTokenExpirySeconds: {
    env: 'ACCESS_TOKEN_EXPIRY_SECONDS',
    parser: integer(1),
    default: 600,
    description:
      'Lifetime in seconds of an issued access token; clients rotate it to get a new one.',
    origin: 'rafiki'
  },
  incomingPaymentInteraction: {
    env: 'INCOMING_PAYMENT_INTERACTION',
    parser: boolean(),
    default: false,
    description:
      'When true, grants for incoming payments need user interaction instead of being issued at once.',
    origin: 'rafiki'
  },
  quoteInteraction: {
    env: 'QUOTE_INTERACTION',
    parser: boolean(),
    default: false,
    description:
      'When true, grants for quotes need user interaction instead of being issued at once.',
    origin: 'rafiki'
  },
  listAllAccessInteraction: {
    env: 'LIST_ALL_ACCESS_INTERACTION',
    parser: boolean(),
    default: true,
    description:
      'When true, grants with the `list-all` action (listing resources the client did not ' +
      'create) need user interaction.',
    origin: 'rafiki'
  },
  signatureMaxAgeSeconds: {
    env: 'SIGNATURE_MAX_AGE_SECONDS',
    parser: integer(1),
    default: 300,
    description:
      "How many seconds old an HTTP message signature's `created` time may be (60 s into the " +
      'future are tolerated for clock skew); older signatures are refused, which bounds replays.',
    origin: 'opas'
  },
  signatureReplay: {
    env: 'SIGNATURE_REPLAY',
    parser: oneOf(signatureReplayModes),
    default: 'standard',
    description:
      'Which repeated signed requests are refused while their `created` is in the window. ' +
      '`standard`: every continuation and token management request, and any request whose ' +
      'signature carries a `nonce`; a grant request without one is served again (the SDKs sign ' +
      'no nonce, so two identical grant requests in one second are byte-identical, and what a ' +
      'repeat returns is usable only with the client key). `strict`: every repeat.',
    origin: 'opas'
  },
  clientFetchAllowHttp: {
    env: 'CLIENT_FETCH_ALLOW_HTTP',
    parser: boolean(),
    default: allowOutsideProduction,
    defaultText: allowOutsideProductionText,
    description: "Allow fetching a client's wallet address and keys over plain http.",
    origin: 'opas'
  },
  clientFetchAllowPrivate: {
    env: 'CLIENT_FETCH_ALLOW_PRIVATE',
    parser: boolean(),
    default: allowOutsideProduction,
    defaultText: allowOutsideProductionText,
    description:
      'Allow client fetches to loopback, private and link-local addresses; keep false in ' +
      'production so clients cannot make the server probe its own network.',
    origin: 'opas'
  },
  clientFetchAllowedCidrs: {
    env: 'CLIENT_FETCH_ALLOWED_CIDRS',
    parser: cidrList(),
    default: [],
    defaultText: 'none',
    description:
      'Private ranges client fetches may reach even when CLIENT_FETCH_ALLOW_PRIVATE is false, ' +
      'for wallets on a private network (e.g. `172.18.0.0/16` for a docker network); loopback, ' +
      'link-local and cloud metadata stay refused unless listed.',
    origin: 'opas'
  },
  clientFetchTimeoutMs: {
    env: 'CLIENT_FETCH_TIMEOUT_MS',
    parser: integer(1, maxTimerMs),
    default: 5000,
    description: "Milliseconds allowed for one fetch of a client's wallet address or keys.",
    origin: 'opas'
  },
  clientFetchMaxBytes: {
    env: 'CLIENT_FETCH_MAX_BYTES',
    parser: integer(1024, 16_777_216),
    default: 65536,
    description:
      'Largest response body accepted from a client fetch; a wallet address or key set is a few ' +
      'KiB, so anything larger is refused.',
    origin: 'opas'
  },
  clientKeyCacheTtlSeconds: {
    env: 'CLIENT_KEY_CACHE_TTL_SECONDS',
    parser: integer(1),
    default: 300,
    description:
      "Seconds a fetched client key set is cached; a client's rotated or revoked key is seen " +
      'after at most this long.',
    origin: 'opas'
  }
}
