/**
 * The shape of opas's configuration. The values, defaults and descriptions live in the schema
 * (`config-schema.ts`); this file only fixes the types so the rest of the code can rely on them.
 */

/** Accepted NODE_ENV values. Only `production` changes behaviour; `test` is accepted for Rafiki compatibility. */
export const nodeEnvs = ['development', 'production', 'test', 'autopeer'] as const
export type NodeEnv = (typeof nodeEnvs)[number]

/** pino's level names, which is what Rafiki's LOG_LEVEL has always meant. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

/** How log lines are written: `auto` is `pretty` on a terminal and `json` otherwise. */
export const logFormats = ['auto', 'json', 'pretty'] as const
export type LogFormat = (typeof logFormats)[number]

/** SameSite values Rafiki accepts for the interaction cookie (unset = the cookie library's default). */
export const cookieSameSiteValues = ['lax', 'none'] as const
export type CookieSameSite = (typeof cookieSameSiteValues)[number]

/** Whether tenants without an identity provider get opas's own consent screen. */
export const consentScreens = ['builtin', 'off'] as const
export type ConsentScreen = (typeof consentScreens)[number]

/** Whether the admin listener serves the operator console. */
export const consoleModes = ['on', 'off'] as const
export type ConsoleMode = (typeof consoleModes)[number]

/**
 * Which repeated signed requests are refused (RFC 9421 §7.2.2): `standard` serves a repeated grant
 * request that carries no `nonce`, `strict` refuses every repeat.
 */
export const signatureReplayModes = ['standard', 'strict'] as const
export type SignatureReplayMode = (typeof signatureReplayModes)[number]

/**
 * How the service API authenticates its callers: `secret`, with SERVICE_API_SECRET as a bearer
 * token; `none`, not at all (Rafiki's backend sends no credential), for a private network only.
 */
export const serviceApiAuthModes = ['secret', 'none'] as const
export type ServiceApiAuthMode = (typeof serviceApiAuthModes)[number]

export const introspectionAuthModes = ['none', 'signature'] as const
export type IntrospectionAuthMode = (typeof introspectionAuthModes)[number]

/** A resource server allowed to introspect under INTROSPECTION_AUTH=signature. */
export interface ResourceServerEntry {
  /** How it names itself in an introspection request's `resource_server` (RFC 9767 §3.2). */
  name: string
  /** Where its public keys are (a JWKS, RFC 7517 §5). */
  jwksUrl: string
}

/**
 * Settings that may be left unset outside production: the caller generates a value, stores it
 * and prints it once, so a first `opas start` works with no configuration at all.
 */
export const generatableSettings = [
  'operatorTenantId',
  'identityServerSecret',
  'adminApiSecret',
  'cookieKey',
  'tenantSecretsKey',
  'webhookSignatureSecret'
] as const
export type GeneratableSetting = (typeof generatableSettings)[number]

/** Every setting of opas, loaded and validated once at start by `loadConfig`. */
export interface Config {
  /** NODE_ENV: `production` makes secrets and public URLs mandatory and locks down client fetches. */
  nodeEnv: NodeEnv
  /** LOG_LEVEL: minimum pino level that is logged. */
  logLevel: LogLevel
  /** LOG_FORMAT: JSON lines, or readable lines for a developer's terminal. */
  logFormat: LogFormat
  /** LISTEN_HOST: interface address every listener binds to. */
  listenHost: string
  /** AUTH_PORT: port of the public GNAP listener (grant, continue, token management). 0 = any free port. */
  authPort: number
  /** INTROSPECTION_PORT: port of the token introspection listener used by the resource server. */
  introspectionPort: number
  /** INTERACTION_PORT: port of the interaction listener (browser redirects and the IdP API). */
  interactionPort: number
  /** ADMIN_PORT: port of the admin API listener. */
  adminPort: number
  /** SERVICE_API_PORT: port of the internal service API listener (tenant management). */
  serviceApiPort: number
  /** AUTH_LISTEN_HOST: address the auth listener binds to; LISTEN_HOST when unset. */
  authListenHost: string
  /** INTERACTION_LISTEN_HOST: address the IdP back channel binds to; LISTEN_HOST when unset. */
  interactionListenHost: string
  /** INTROSPECTION_LISTEN_HOST: address the introspection listener binds to; LISTEN_HOST if unset. */
  introspectionListenHost: string
  /** ADMIN_LISTEN_HOST: address the admin listener binds to; LISTEN_HOST when unset. */
  adminListenHost: string
  /** SERVICE_API_LISTEN_HOST: address the service API binds to; LISTEN_HOST when unset. */
  serviceApiListenHost: string
  /** AUTH_SERVER_URL: public base URL of the auth listener, stored without a trailing slash. */
  authServerUrl: string
  /** INTROSPECTION_URL: URL of the introspection listener as resource servers reach it. */
  introspectionUrl: string
  /** TRUST_PROXY: take the client address and protocol from X-Forwarded-* headers. */
  trustProxy: boolean
  /** AUTH_DATABASE_URL or DATABASE_URL: external PostgreSQL; undefined = the embedded server. */
  databaseUrl: string | undefined
  /** DATABASE_POOL_SIZE: maximum number of connections to the database. */
  databasePoolSize: number
  /** DATABASE_PREPARED_STATEMENTS: false behind a transaction-mode pooler (unnamed statements). */
  databasePreparedStatements: boolean
  /** DATABASE_WAIT_SECONDS: how long a start waits for an external database to answer. */
  databaseWaitSeconds: number
  /** DATA_DIR: directory of the embedded PostgreSQL server; `memory://` is a throwaway one. */
  dataDir: string
  /** EMBEDDED_DATABASE_USER: who runs the embedded server when opas runs as root. */
  embeddedDatabaseUser: string | undefined
  /** ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION: production on the embedded database, knowingly. */
  allowEmbeddedDatabaseInProduction: boolean
  /** ENABLE_MANUAL_MIGRATIONS: when true, start does not migrate; `opas migrate` does. */
  enableManualMigrations: boolean
  /** OPERATOR_TENANT_ID: UUID of the operator tenant. */
  operatorTenantId: string | undefined
  /** IDENTITY_SERVER_URL: consent URL of the operator tenant's identity provider. */
  identityServerUrl: string | undefined
  /** CONSENT_SCREEN: `builtin` serves opas's consent screen to tenants without an IdP. */
  consentScreen: ConsentScreen
  /** IDENTITY_SERVER_SECRET: the operator tenant's `x-idp-secret`. Secret. */
  identityServerSecret: string | undefined
  /** ADMIN_API_SECRET: HMAC key of admin API request signatures. Secret. */
  adminApiSecret: string | undefined
  /** ADMIN_API_SIGNATURE_VERSION: version tag expected in admin API signatures. */
  adminApiSignatureVersion: number
  /** ADMIN_API_SIGNATURE_TTL_SECONDS: how old an admin API signature may be. */
  adminApiSignatureTtlSeconds: number
  /** COOKIE_KEY: key that signs the interaction session cookie. Secret. */
  cookieKey: string | undefined
  /** TENANT_SECRETS_KEY: encrypts each tenant's API secret at rest (AES-256-GCM). */
  tenantSecretsKey: string | undefined
  /** SERVICE_API_AUTH: `secret` (SERVICE_API_SECRET as bearer token) or `none` (private network). */
  serviceApiAuth: ServiceApiAuthMode
  /** INTROSPECTION_AUTH: `signature` makes resource servers sign introspection (RFC 9767 §3.2). */
  introspectionAuth: IntrospectionAuthMode
  /** INTROSPECTION_RESOURCE_SERVERS: the resource servers allowed to, by name with their JWKS. */
  introspectionResourceServers: readonly ResourceServerEntry[]
  /** SERVICE_API_SECRET: when set, service API calls must carry it as a bearer token. */
  serviceApiSecret: string | undefined
  /** INTERACTION_COOKIE_SAME_SITE: SameSite attribute of the interaction cookie; undefined = default. */
  interactionCookieSameSite: CookieSameSite | undefined
  /** WAIT_SECONDS: `wait` a client is told to respect between continuation polls. */
  waitSeconds: number
  /** INTERACTION_EXPIRY_SECONDS: lifetime of a pending interaction. */
  interactionExpirySeconds: number
  /** ACCESS_TOKEN_EXPIRY_SECONDS: lifetime of an issued access token. */
  accessTokenExpirySeconds: number
  /** DATABASE_CLEANUP_WORKERS: 0 disables the retention job; any other value runs it. */
  databaseCleanupWorkers: number
  /** CLEANUP_INTERVAL_SECONDS: time between two passes of the retention job. */
  cleanupIntervalSeconds: number
  /** ACCESS_TOKEN_DELETION_DAYS: days after expiry or revocation before a token row is deleted. */
  accessTokenDeletionDays: number
  /** PENDING_GRANT_DELETION_DAYS: days after its interaction expired that an unfinished grant goes. */
  pendingGrantDeletionDays: number
  /** GRANT_DELETION_DAYS: finished grants are deleted this long after they finished; unset: kept. */
  grantDeletionDays: number | undefined
  /** INCOMING_PAYMENT_INTERACTION: require interaction for incoming-payment grants. */
  incomingPaymentInteraction: boolean
  /** QUOTE_INTERACTION: require interaction for quote grants. */
  quoteInteraction: boolean
  /** LIST_ALL_ACCESS_INTERACTION: require interaction for `list-all` access. */
  listAllAccessInteraction: boolean
  /** REDIS_URL: optional Redis; opas does not require it. */
  /** EVENT_RETENTION_DAYS: days an audit event is kept. */
  eventRetentionDays: number
  redisUrl: string | undefined
  /** REDIS_TLS_CA_FILE_PATH: CA bundle for a TLS Redis connection. */
  redisTlsCaFilePath: string | undefined
  /** REDIS_TLS_KEY_FILE_PATH: client key for a TLS Redis connection. */
  redisTlsKeyFilePath: string | undefined
  /** REDIS_TLS_CERT_FILE_PATH: client certificate for a TLS Redis connection. */
  redisTlsCertFilePath: string | undefined
  /** SIGNATURE_MAX_AGE_SECONDS: how far an HTTP signature's `created` may be from now. */
  signatureMaxAgeSeconds: number
  /** SIGNATURE_REPLAY: which repeated signatures are refused. */
  signatureReplay: SignatureReplayMode
  /** CLIENT_FETCH_ALLOW_HTTP: allow fetching client wallet addresses and keys over plain http. */
  clientFetchAllowHttp: boolean
  /** CLIENT_FETCH_ALLOW_PRIVATE: allow fetching from loopback and private network addresses. */
  clientFetchAllowPrivate: boolean
  /** CLIENT_FETCH_ALLOWED_CIDRS: private ranges reachable despite CLIENT_FETCH_ALLOW_PRIVATE=false. */
  clientFetchAllowedCidrs: readonly string[]
  /** CLIENT_FETCH_TIMEOUT_MS: timeout of one client wallet address or key fetch. */
  clientFetchTimeoutMs: number
  /** CLIENT_FETCH_MAX_BYTES: largest accepted response body of a client fetch. */
  clientFetchMaxBytes: number
  /** CLIENT_KEY_CACHE_TTL_SECONDS: how long fetched client keys are cached. */
  clientKeyCacheTtlSeconds: number
  /** REQUEST_BODY_LIMIT_BYTES: largest request body accepted (413 above). */
  requestBodyLimitBytes: number
  /** RATE_LIMIT_WINDOW_SECONDS: window of the per-IP and per-client rate limits. */
  rateLimitWindowSeconds: number
  /** RATE_LIMIT_PER_IP: requests per window from one IP address to the auth listener; 0 = off. */
  rateLimitPerIp: number
  /** RATE_LIMIT_PER_CLIENT: verified signed requests per window of one client; 0 = off. */
  rateLimitPerClient: number
  /** SECRET_ATTEMPTS_PER_TENANT: failed tries at one tenant's API secret per address in 15 min. */
  secretAttemptsPerTenant: number
  /** SECRET_ATTEMPTS_PER_ADDRESS: failed tries at any tenant's API secret per address in 15 min. */
  secretAttemptsPerAddress: number
  /** SHUTDOWN_TIMEOUT_MS: how long SIGTERM waits for in-flight requests. */
  shutdownTimeoutMs: number
  /** ENV_FILE: dotenv file read at start (environment variables win over it). */
  envFile: string
  /** CONSOLE: whether the admin listener serves the operator console. */
  console: ConsoleMode
  /** CONSOLE_SESSION_TTL_SECONDS: a console session's idle lifetime (twelve hours at most). */
  consoleSessionTtlSeconds: number
  /** WEBHOOK_URL: the operator's receiver of signed webhooks; none sent when unset. */
  webhookUrl: string | undefined
  /** WEBHOOK_SIGNATURE_SECRET: the HMAC key of the `Rafiki-Signature` header. */
  webhookSignatureSecret: string | undefined
  /** WEBHOOK_TIMEOUT_MS: how long one attempt waits for the receiver's answer. */
  webhookTimeoutMs: number
  /** WEBHOOK_MAX_RETRIES: retries after the first attempt before a webhook is given up. */
  webhookMaxRetries: number
  /** WEBHOOK_RETRY_DELAY_MS: the wait before the first retry, doubled at each one after. */
  webhookRetryDelayMs: number
  /** WEBHOOK_RETENTION_DAYS: days a delivered or given-up webhook's record is kept. */
  webhookRetentionDays: number
}
