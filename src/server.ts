import { randomBytes, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { buildApps, listenerNames, type Apps, type ListenerName } from './app.js'
import {
  configSchema,
  type Config,
  type GeneratableSetting,
  type LoadedConfig
} from './config/index.js'
import type { Resolver } from './client-keys/index.js'
import { createServices, type RuntimeConfig, type Services } from './deps.js'
import { hashSecret } from './gnap/secrets.js'
import { ed25519Backend } from './http-signatures/index.js'
import type { Db } from './storage/db.js'
import { deleteExpiredReplays } from './replay/replay-guard.js'
import { startRetentionJob, type RetentionJob } from './retention/retention-job.js'
import { migrate, pendingMigrations } from './storage/migrate.js'
import { createPgliteDb } from './storage/pglite-db.js'
import { createPostgresDb } from './storage/postgres-db.js'
import { resolveGeneratedSettings } from './storage/generated-settings.js'

/** PostgreSQL when a URL is configured, otherwise embedded PGlite in DATA_DIR. */
export async function openDb(config: Config): Promise<Db> {
  return config.databaseUrl
    ? createPostgresDb(config.databaseUrl, config.databasePoolSize)
    : createPgliteDb(config.dataDir)
}

/** Brings the schema up to date, or refuses to start when migrations are manual and pending. */
export async function prepareSchema(db: Db, config: Config, logger: Logger): Promise<void> {
  if (!config.enableManualMigrations) {
    const applied = await migrate(db)
    if (applied.length > 0) logger.info({ applied }, 'database migrated')
    return
  }
  const pending = await pendingMigrations(db)
  if (pending.length > 0) {
    throw new Error(
      `${pending.length} migration(s) pending (${pending.join(', ')}): run \`opas migrate\``
    )
  }
}

function generateSetting(name: string): string {
  return name === 'operatorTenantId' ? randomUUID() : randomBytes(32).toString('base64url')
}

/**
 * Fills the settings a development start may generate. They live in the database so that every
 * later start, and every process sharing it, agrees; new ones are announced once (on the
 * console, never in the structured log, which must not carry secrets).
 */
async function resolveRuntimeConfig(
  db: Db,
  loaded: LoadedConfig,
  announce: (lines: string[]) => void
): Promise<RuntimeConfig> {
  const { values, created } = await resolveGeneratedSettings(db, loaded.missing, generateSetting)
  if (created.length > 0) {
    announce([
      'opas generated these settings on first start and stored them in its database.',
      'Give them to your IdP / keep them; set them explicitly in production:',
      ...created.map(
        (name) => `  ${configSchema[name as GeneratableSetting].env}=${values.get(name)}`
      )
    ])
  }
  return { ...loaded.config, ...Object.fromEntries(values) } as RuntimeConfig
}

export interface RunningServer {
  services: Services
  apps: Apps
  urls: Record<ListenerName, string>
  /** The periodic retention job, unless DATABASE_CLEANUP_WORKERS=0. */
  retention: RetentionJob | undefined
  /** Stops accepting, finishes in-flight requests, then closes the database. */
  close(): Promise<void>
}

const portOf: Record<ListenerName, (c: Config) => number> = {
  auth: (c) => c.authPort,
  interaction: (c) => c.interactionPort,
  introspection: (c) => c.introspectionPort,
  admin: (c) => c.adminPort
}

const DAY_SECONDS = 86_400

function startRetention(services: Services, config: Config, logger: Logger): RetentionJob {
  const tokenAge = config.accessTokenDeletionDays * DAY_SECONDS
  // Counted from the end of the interaction, which may outlive a short retention period.
  const pendingAge = config.pendingGrantDeletionDays * DAY_SECONDS + config.interactionExpirySeconds
  const { grants, tokens, db } = services
  return startRetentionJob({
    rules: {
      tokens: (limit) => tokens.purgeSpent(limit, tokenAge),
      finishedGrants: (limit) => grants.purgeFinished(limit, tokenAge),
      abandonedGrants: (limit) => grants.purgeAbandoned(limit, pendingAge),
      replays: (limit) => deleteExpiredReplays(db, limit)
    },
    intervalMs: config.cleanupIntervalSeconds * 1000,
    batchSize: 1000,
    logger: logger.child({ component: 'retention' }),
    onDeleted: (counts) => services.metrics.retentionDeleted({ ...counts })
  })
}

export async function startServer(
  loaded: LoadedConfig,
  options: {
    logger: Logger
    announce?: (lines: string[]) => void
    /** DNS for client fetches (tests); the system resolver otherwise. */
    resolve?: Resolver
  }
): Promise<RunningServer> {
  const { logger } = options
  const announce =
    options.announce ?? ((lines) => process.stderr.write(`\n${lines.join('\n')}\n\n`))
  const db = await openDb(loaded.config)
  let apps: Apps | undefined
  try {
    await prepareSchema(db, loaded.config, logger)
    const config = await resolveRuntimeConfig(db, loaded, announce)
    const services = createServices({ config, db, logger, resolve: options.resolve })
    await services.tenants.syncOperator({
      id: config.operatorTenantId,
      idpConsentUrl: config.identityServerUrl ?? null,
      idpSecretHash: hashSecret(config.identityServerSecret),
      apiSecret: config.adminApiSecret
    })
    apps = await buildApps(services)
    const urls = {} as Record<ListenerName, string>
    for (const name of listenerNames) {
      urls[name] = await apps[name].listen({ host: config.listenHost, port: portOf[name](config) })
    }
    logger.info(
      { urls, database: db.kind, tenant: config.operatorTenantId, ed25519: ed25519Backend },
      'opas listening'
    )
    const retention =
      config.databaseCleanupWorkers > 0 ? startRetention(services, config, logger) : undefined
    const running = apps
    return {
      services,
      apps: running,
      urls,
      retention,
      async close() {
        await retention?.stop()
        // Fastify closes the connections idle when closing starts; a keep-alive connection busy
        // at that moment would stay open after its answer until the client hangs up (up to the
        // keep-alive timeout, longer than SHUTDOWN_TIMEOUT_MS). Sweep them as they go idle.
        const sweep = setInterval(() => {
          for (const name of listenerNames) running[name].server.closeIdleConnections()
        }, 50)
        try {
          await Promise.all(listenerNames.map((name) => running[name].close()))
        } finally {
          clearInterval(sweep)
        }
        await services.clientKeys.close()
        await services.rateLimits.close()
        await db.close()
      }
    }
  } catch (err) {
    // A listener that could not bind (port taken) must not leave the others open.
    const started = apps
    if (started)
      await Promise.all(listenerNames.map((name) => started[name].close().catch(() => {})))
    await db.close().catch(() => {})
    throw err
  }
}
