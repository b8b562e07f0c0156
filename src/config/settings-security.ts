import {
  consentScreens,
  cookieSameSiteValues,
  introspectionAuthModes,
  serviceApiAuthModes
} from './config-types.js'
import type { SettingsOf } from './setting-spec.js'
import { integer, oneOf, resourceServerList, text, url, uuid } from './value-parsers.js'

/** The operator tenant, its identity provider, and the keys of the admin API and cookies. */
export const securitySettings: SettingsOf<
  | 'operatorTenantId'
  | 'identityServerUrl'
  | 'consentScreen'
  | 'identityServerSecret'
  | 'adminApiSecret'
  | 'adminApiSignatureVersion'
  | 'adminApiSignatureTtlSeconds'
  | 'cookieKey'
  | 'tenantSecretsKey'
  | 'serviceApiAuth'
  | 'serviceApiSecret'
  | 'introspectionAuth'
  | 'introspectionResourceServers'
  | 'interactionCookieSameSite'
> = {
  operatorTenantId: {
    env: 'OPERATOR_TENANT_ID',
    parser: uuid(),
    default: undefined,
    description:
      'UUID of the operator tenant, the one configured by the settings below and allowed to ' +
      'manage other tenants. Must match the backend.',
    origin: 'rafiki'
  },
  identityServerUrl: {
    env: 'IDENTITY_SERVER_URL',
    parser: url(['http:', 'https:'], 'http(s) URL'),
    default: undefined,
    defaultText: 'unset: the built-in consent screen (CONSENT_SCREEN)',
    description:
      "Consent page of the operator tenant's identity provider: the browser is redirected there " +
      'to let the user approve or deny a grant. Required in production unless ' +
      'CONSENT_SCREEN=builtin.',
    origin: 'rafiki'
  },
  consentScreen: {
    env: 'CONSENT_SCREEN',
    parser: oneOf(consentScreens),
    default: ({ nodeEnv }) => (nodeEnv === 'production' ? 'off' : 'builtin'),
    defaultText: '`builtin`; `off` in production',
    description:
      "`builtin` serves opas's own consent screen to tenants without an identity provider " +
      '(IDENTITY_SERVER_URL unset), so an interactive grant works with nothing else running. ' +
      'It does not authenticate the account holder: in production a wallet uses its own IdP.',
    origin: 'opas'
  },
  identityServerSecret: {
    env: 'IDENTITY_SERVER_SECRET',
    parser: text('secret string'),
    default: undefined,
    secret: true,
    description:
      "Shared secret the operator tenant's identity provider sends in the `x-idp-secret` header " +
      'when it reads or decides on a grant.',
    origin: 'rafiki'
  },
  adminApiSecret: {
    env: 'ADMIN_API_SECRET',
    parser: text('secret string'),
    default: undefined,
    secret: true,
    description: 'HMAC key that callers of the admin API sign their requests with.',
    origin: 'rafiki'
  },
  adminApiSignatureVersion: {
    env: 'ADMIN_API_SIGNATURE_VERSION',
    parser: integer(1, 1000),
    default: 1,
    description: 'Version of the admin API request signature scheme expected in signatures.',
    origin: 'rafiki'
  },
  adminApiSignatureTtlSeconds: {
    env: 'ADMIN_API_SIGNATURE_TTL_SECONDS',
    parser: integer(1),
    default: 30,
    description:
      'How many seconds an admin API request signature stays valid, which bounds replays.',
    origin: 'rafiki'
  },
  cookieKey: {
    env: 'COOKIE_KEY',
    parser: text('secret string'),
    default: undefined,
    secret: true,
    description:
      'Key that signs the interaction session cookie; changing it ends pending interactions.',
    origin: 'rafiki'
  },
  tenantSecretsKey: {
    env: 'TENANT_SECRETS_KEY',
    parser: text('secret string'),
    default: undefined,
    secret: true,
    description:
      "Key that encrypts each tenant's API secret at rest (AES-256-GCM; the admin API checks " +
      'signatures with it, so it is kept encrypted, not hashed). Changing it makes the stored ' +
      'API secrets unreadable: set them again through the service API.',
    origin: 'opas'
  },
  serviceApiAuth: {
    env: 'SERVICE_API_AUTH',
    parser: oneOf(serviceApiAuthModes),
    default: 'secret',
    description:
      '`secret`: every service API call must carry SERVICE_API_SECRET as a bearer token. ' +
      'Without a secret, calls go unauthenticated only on loopback, or outside production (a ' +
      'warning at start when the service API listens beyond loopback); production refuses to ' +
      "start otherwise. `none`: no authentication, for Rafiki's backend (which sends no " +
      'credential) on a private network only it reaches; SERVICE_API_SECRET must be unset, and ' +
      'every start logs a warning.',
    origin: 'opas'
  },
  serviceApiSecret: {
    env: 'SERVICE_API_SECRET',
    parser: text('secret string'),
    default: undefined,
    secret: true,
    description:
      'Bearer token every service API call must carry (`Authorization: Bearer <secret>`). ' +
      'Required in production when SERVICE_API_LISTEN_HOST is beyond loopback, unless ' +
      'SERVICE_API_AUTH=none.',
    origin: 'opas'
  },
  introspectionAuth: {
    env: 'INTROSPECTION_AUTH',
    parser: oneOf(introspectionAuthModes),
    default: 'none',
    description:
      '`none`: introspection is unauthenticated, as in Rafiki (keep the listener on a network ' +
      'only resource servers reach). `signature`: a resource server signs each introspection ' +
      'request (HTTP message signatures, RFC 9767 §3.2) with a key of its JWKS and names ' +
      'itself in `resource_server`; an unsigned request or an unknown resource server gets ' +
      '401 `invalid_resource_server`. Needs INTROSPECTION_RESOURCE_SERVERS and INTROSPECTION_URL.',
    origin: 'opas'
  },
  introspectionResourceServers: {
    env: 'INTROSPECTION_RESOURCE_SERVERS',
    parser: resourceServerList(),
    default: () => [],
    defaultText: 'none',
    description:
      'The resource servers allowed to introspect under INTROSPECTION_AUTH=signature, as ' +
      'comma-separated `name=URL` pairs: the name a resource server gives as its ' +
      "`resource_server`, and the URL of its JWKS (fetched and cached like a client's keys; " +
      'private addresses allowed, as the operator chose them).',
    origin: 'opas'
  },
  interactionCookieSameSite: {
    env: 'INTERACTION_COOKIE_SAME_SITE',
    parser: oneOf(cookieSameSiteValues),
    default: undefined,
    description:
      'SameSite attribute of the interaction cookie. `none` is needed when the identity ' +
      'provider is on another site (and requires https); unset sends `Lax`.',
    origin: 'rafiki'
  }
}
