import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { v7 as uuidV7 } from 'uuid'
import { createClientKeys, type Resolver } from './client-keys/index.js'
import type { Config } from './config/index.js'
import { createGrantOperations } from './grant/grant-operations.js'
import { createGrantService } from './grant/grant-service.js'
import { createClientVerifier } from './http/client-verifier.js'
import { createResourceServerVerifier } from './http/resource-server-verifier.js'
import { createInteractionSession } from './http/interaction-session.js'
import { createInteractionService } from './interaction/interaction-service.js'
import { interactionUrl } from './interaction/interaction-url.js'
import { createConsentService } from './consent/consent-service.js'
import { createConsoleSessions } from './console/console-sessions.js'
import { createGraphqlApi } from './admin/graphql-api.js'
import { createMetrics } from './metrics/metrics.js'
import { createRandomPool } from './random/random-pool.js'
import { createRateLimits } from './rate-limit/rate-limits.js'
import { createDatabaseReplayGuard, createMemoryReplayGuard } from './replay/replay-guard.js'
import type { Db } from './storage/db.js'
import { createSecretBox } from './tenant/secret-box.js'
import { createTenantDirectory } from './tenant/tenant-directory.js'
import { createTenantOperations } from './tenant/tenant-operations.js'
import { createTokenService } from './token/token-service.js'
import { createEventService } from './audit/event-service.js'
import { createWebhookService } from './webhook/webhook-service.js'

// Tenant settings (IdP URL and secret) change rarely; a change is seen within this long.
// A tenant changed through another process sharing the database is seen within this time.
const TENANT_CACHE_TTL_MS = 1_000

/** The configuration once generated settings are resolved: nothing required is missing. */
export type RuntimeConfig = Config & {
  operatorTenantId: string
  identityServerSecret: string
  adminApiSecret: string
  cookieKey: string
  tenantSecretsKey: string
}

/**
 * The one composition root: plain factory calls, no container. Tests call the same factories.
 */
export function createServices(input: {
  config: RuntimeConfig
  db: Db
  logger: Logger
  now?: () => number
  /** DNS for client fetches; the system resolver unless given (tests answer for made-up hosts). */
  resolve?: Resolver
}) {
  const { config, db, logger } = input
  const now = input.now ?? Date.now
  const metrics = createMetrics({ db })
  // Key fetches (clients', and resource servers' below): limits and cache alike.
  const keyFetches = {
    ...(input.resolve ? { resolve: input.resolve } : {}),
    timeoutMs: config.clientFetchTimeoutMs,
    maxBodyBytes: config.clientFetchMaxBytes,
    cacheTtlMs: config.clientKeyCacheTtlSeconds * 1000,
    now
  }
  const clientKeys = createClientKeys({
    ...keyFetches,
    allowHttp: config.clientFetchAllowHttp,
    allowPrivate: config.clientFetchAllowPrivate,
    allowedCidrs: config.clientFetchAllowedCidrs,
    logger: logger.child({ component: 'client-keys' }),
    observe: metrics.keyCache
  })
  // INTROSPECTION_AUTH=signature: the listed resource servers' keys. Their URLs are the
  // operator's own (usually on a private network), so no client-fetch address policy applies.
  const resourceServerKeys =
    config.introspectionAuth === 'signature'
      ? createClientKeys({
          ...keyFetches,
          allowHttp: true,
          allowPrivate: true,
          logger: logger.child({ component: 'resource-server-keys' })
        })
      : undefined
  const rateLimits = createRateLimits({
    windowSeconds: config.rateLimitWindowSeconds,
    perIp: config.rateLimitPerIp,
    perClient: config.rateLimitPerClient,
    secretAttempts: {
      perTenant: config.secretAttemptsPerTenant,
      perAddress: config.secretAttemptsPerAddress
    },
    ...(config.redisUrl
      ? {
          redis: {
            url: config.redisUrl,
            tls: {
              caFile: config.redisTlsCaFilePath,
              keyFile: config.redisTlsKeyFilePath,
              certFile: config.redisTlsCertFilePath
            }
          }
        }
      : {}),
    logger: logger.child({ component: 'rate-limits' })
  })
  // One process owns the embedded database; an external PostgreSQL may be shared (README).
  const replay =
    db.kind === 'embedded' ? createMemoryReplayGuard({ now }) : createDatabaseReplayGuard(db)
  const randomBytes = createRandomPool()
  // Time-ordered ids (migration 002). Within one millisecond their order is random, as in
  // opas_uuid_v7(): index locality needs only the time prefix.
  const newId = () => uuidV7({ random: randomBytes(16) })
  const random = { randomBytes, randomUUID, newId }
  const events = createEventService({ db })
  const tokens = createTokenService({ db, config, ...random })
  const interactions = createInteractionService({
    db,
    events,
    // A closure: the grant service is built below, with the interaction service it asks.
    grants: {
      recordDecision: (q, grantId, decision) => grants.recordDecision(q, grantId, decision),
      contents: (grantId) => grants.contents(grantId)
    },
    ...(config.consentScreen === 'builtin'
      ? {
          builtinConsentUrl: (id: string, nonce: string) =>
            interactionUrl(config.authServerUrl, id, nonce, 'consent')
        }
      : {})
  })
  const grants = createGrantService({
    db,
    clientKeys,
    config,
    ...random,
    tokens,
    interactions,
    events
  })
  // What operators do to grants and tenants, whichever door they use (the admin API, the
  // service API, the console, the CLI): scope, checks, the audit event and the log line, once.
  const grantOperations = createGrantOperations({ db, events })
  const graphql = createGraphqlApi({
    grants: grantOperations,
    production: config.nodeEnv === 'production',
    logger: logger.child({ component: 'admin-api' })
  })
  const tenants = createTenantDirectory({
    db,
    events,
    ttlMs: TENANT_CACHE_TTL_MS,
    secrets: createSecretBox(config.tenantSecretsKey),
    attempts: rateLimits
  })
  const webhooks = createWebhookService({
    db,
    config,
    tenants,
    events,
    now,
    logger: logger.child({ component: 'webhooks' }),
    onAttempt: metrics.webhookAttempt
  })
  metrics.watchWebhooks(webhooks.stats)
  const tenantOperations = createTenantOperations({
    directory: tenants,
    operatorTenantId: config.operatorTenantId,
    now
  })
  return {
    config,
    db,
    logger,
    clientKeys,
    resourceServerKeys,
    metrics,
    grants,
    grantOperations,
    events,
    graphql,
    tokens,
    tenants,
    tenantOperations,
    webhooks,
    consoleSessions:
      config.console === 'on'
        ? createConsoleSessions({
            db,
            events,
            tenants,
            cookieKey: config.cookieKey,
            operatorTenantId: config.operatorTenantId,
            ttlSeconds: config.consoleSessionTtlSeconds,
            randomBytes
          })
        : undefined,
    interactions,
    consent: createConsentService({ grants, interactions, cookieKey: config.cookieKey }),
    rateLimits,
    verifyClient: createClientVerifier({ clientKeys, config, now, replay, rateLimits }),
    verifyResourceServer:
      resourceServerKeys && createResourceServerVerifier({ keys: resourceServerKeys, config, now }),
    /** Recorded signatures, shared by every process on the database (admin API signatures too). */
    replay,
    now,
    session: createInteractionSession(config)
  }
}

export type Services = ReturnType<typeof createServices>
