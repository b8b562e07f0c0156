import { randomBytes, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { v7 as uuidV7 } from 'uuid'
import { createClientKeys } from './client-keys/index.js'
import type { Config } from './config/index.js'
import { createGrantService } from './grant/grant-service.js'
import { createClientVerifier } from './http/client-verifier.js'
import { createInteractionSession } from './http/interaction-session.js'
import { createInteractionService } from './interaction/interaction-service.js'
import type { Db } from './storage/db.js'
import { createTenantDirectory } from './tenant/tenant-directory.js'
import { createTokenService } from './token/token-service.js'

// Tenant settings (IdP URL and secret) change rarely; a change is seen within this long.
const TENANT_CACHE_TTL_MS = 5_000

/** The configuration once generated settings are resolved: nothing required is missing. */
export type RuntimeConfig = Config & {
  operatorTenantId: string
  identityServerSecret: string
  adminApiSecret: string
  cookieKey: string
}

/**
 * The one composition root: plain factory calls, no container. Tests call the same factories.
 */
export function createServices(input: {
  config: RuntimeConfig
  db: Db
  logger: Logger
  now?: () => number
}) {
  const { config, db, logger } = input
  const now = input.now ?? Date.now
  const clientKeys = createClientKeys({
    allowHttp: config.clientFetchAllowHttp,
    allowPrivate: config.clientFetchAllowPrivate,
    timeoutMs: config.clientFetchTimeoutMs,
    maxBodyBytes: config.clientFetchMaxBytes,
    cacheTtlMs: config.clientKeyCacheTtlSeconds * 1000,
    now,
    logger: logger.child({ component: 'client-keys' })
  })
  const random = { randomBytes, randomUUID, newId: uuidV7 }
  return {
    config,
    db,
    logger,
    clientKeys,
    grants: createGrantService({ db, clientKeys, config, ...random }),
    tokens: createTokenService({ db, config, ...random }),
    tenants: createTenantDirectory({ db, ttlMs: TENANT_CACHE_TTL_MS }),
    interactions: createInteractionService({ db }),
    verifyClient: createClientVerifier({ clientKeys, config, now }),
    session: createInteractionSession(config)
  }
}

export type Services = ReturnType<typeof createServices>
