import { randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { buildApps, listenerNames, type Apps, type ListenerName } from './app.js'
import {
  configSchema,
  type Config,
  type GeneratableSetting,
  type LoadedConfig,
  redactUrlPassword,
  serviceApiWarnings
} from './config/index.js'
import type { Resolver } from './client-keys/index.js'
import { createServices, type RuntimeConfig, type Services } from './deps.js'
import { ed25519Backend } from './http-signatures/index.js'
import type { Db } from './storage/db.js'
import { deleteExpiredReplays } from './replay/replay-guard.js'
import { startRetentionJob, type RetentionJob } from './retention/retention-job.js'
import { migrate, pendingMigrations } from './storage/migrate.js'
import { createEmbeddedDb } from './storage/embedded/embedded-db.js'
import { createPostgresDb } from './storage/postgres-db.js'
import { waitForDatabase } from './storage/database-wait.js'
import { bindFailure, checkListenAddresses, type ListenAddress } from './http/listen-addresses.js'
import {
  claimShowing,
  generatedSettingsFile,
  resolveGeneratedSettings
} from './storage/generated-settings.js'

/**
 * PostgreSQL when a URL is configured, otherwise the embedded PostgreSQL server in DATA_DIR,
 * which this process then owns until it closes the database (a second process is refused:
 * DataDirInUseError).
 */
export async function openDb(
  config: Config,
  options: { command: string; logger: Logger; attach?: boolean; abort?: AbortSignal }
): Promise<Db> {
  if (config.databaseUrl) {
    return createPostgresDb(config.databaseUrl, config.databasePoolSize, {
      preparedStatements: config.databasePreparedStatements
    })
  }
  return createEmbeddedDb(config.dataDir, {
    command: options.command,
    attach: options.attach,
    abort: options.abort,
    poolSize: config.databasePoolSize,
    runAs: config.embeddedDatabaseUser,
    log: options.logger
  })
}

/**
 * openDb, and for an external database, once it answers: a start waits for a PostgreSQL that is
 * still starting (DATABASE_WAIT_SECONDS), saying so at each attempt, instead of failing at once.
 */
export async function openDbWhenReady(
  config: Config,
  options: { command: string; logger: Logger; abort?: AbortSignal }
): Promise<Db> {
  const db = await openDb(config, options)
  if (!config.databaseUrl) return db
  const where = `${configSchema.databaseUrl.env}=${redactUrlPassword(config.databaseUrl)}`
  try {
    await waitForDatabase(db, {
      describe: where,
      limitSeconds: config.databaseWaitSeconds,
      abort: options.abort,
      onRetry: ({ attempt, reason, retryInMs }) =>
        options.logger.warn(
          { database: where, attempt, reason, retryInMs },
          `the database at ${where} does not answer yet (${reason}); ` +
            `trying again in ${(retryInMs / 1000).toFixed(2)} s`
        )
    })
    return db
  } catch (err) {
    await db.close().catch(() => {})
    throw err
  }
}

/** Brings the schema up to date, or refuses to start when migrations are manual and pending. */
export async function prepareSchema(db: Db, config: Config, logger: Logger): Promise<void> {
  if (config.enableManualMigrations) return requireCurrentSchema(db)
  const applied = await migrate(db, (pending) =>
    logger.info({ pending }, `applying ${pending.length} database migration(s)`)
  )
  if (applied.length > 0) logger.info({ applied }, 'database migrated')
}

/** Refuses a schema this build has migrations for that are not applied (`opas migrate` is). */
export async function requireCurrentSchema(db: Db): Promise<void> {
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
 * Fills the settings a development start may generate: kept in DATA_DIR/generated.env, with
 * their fingerprints in the database so that every later start, and every process sharing it,
 * agrees. `generated`: those not yet shown (a first start that failed shows them at the next).
 */
async function resolveRuntimeConfig(
  db: Db,
  loaded: LoadedConfig
): Promise<{ config: RuntimeConfig; generated: Map<string, string> }> {
  const { values, unshown } = await resolveGeneratedSettings(
    db,
    generatedSettingsFile(loaded.config.dataDir),
    loaded.missing,
    generateSetting
  )
  const config = { ...loaded.config, ...Object.fromEntries(values) } as RuntimeConfig
  return { config, generated: new Map(unshown.map((name) => [name, values.get(name)!])) }
}

/** Those of `generated` this process is the one to show (claimShowing), with their values. */
async function showable(db: Db, generated: Map<string, string>): Promise<Map<string, string>> {
  if (generated.size === 0) return generated
  const names = await claimShowing(db, [...generated.keys()])
  return new Map(names.map((name) => [name, generated.get(name)!]))
}

/** `NAME=value` for each generated setting, as the environment would set it. */
export const settingLines = (values: Map<string, string>): string[] =>
  [...values].map(
    ([name, value]) => `${configSchema[name as GeneratableSetting]?.env ?? name}=${value}`
  )

/** Writes the lines of a notice on stderr, apart from the log lines and from a command's output. */
const announceOnStderr = (lines: string[]) => process.stderr.write(`\n${lines.join('\n')}\n\n`)

/**
 * The text that shows newly generated settings, once, on the console, apart from the log lines
 * (the structured log never carries a secret).
 */
function generatedSettingsNotice(generated: Map<string, string>, config: Config): string[] {
  const where = generatedSettingsFile(config.dataDir) ?? 'this process only (DATA_DIR=memory://)'
  return [
    'opas generated these settings on its first start:',
    '',
    ...settingLines(generated).map((line) => `    ${line}`),
    '',
    `They are kept in ${where} (only opas's user may read it) and used by every later start;`,
    '`npx opas secrets show` prints them again. Give IDENTITY_SERVER_SECRET to your identity',
    'provider. In production, set each of them in the environment instead.',
    ...(generated.has('webhookSignatureSecret')
      ? ['Give WEBHOOK_SIGNATURE_SECRET to the receiver at WEBHOOK_URL: it checks each webhook.']
      : [])
  ]
}

const operatorSettingEnv = {
  idpConsentUrl: configSchema.identityServerUrl.env,
  idpSecret: configSchema.identityServerSecret.env,
  apiSecret: configSchema.adminApiSecret.env
} as const

/**
 * The operator tenant from the configuration: seeded on the first start; later, a value the
 * environment sets wins over one changed through the service API, and says so.
 */
async function syncOperatorTenant(
  services: Services,
  config: RuntimeConfig,
  loaded: LoadedConfig,
  logger: Logger
): Promise<void> {
  const fromEnvironment = new Set<keyof typeof operatorSettingEnv>()
  if (config.identityServerUrl !== undefined) fromEnvironment.add('idpConsentUrl')
  if (!loaded.missing.includes('identityServerSecret')) fromEnvironment.add('idpSecret')
  if (!loaded.missing.includes('adminApiSecret')) fromEnvironment.add('apiSecret')
  await services.tenants.syncOperator(
    {
      id: config.operatorTenantId,
      idpConsentUrl: config.identityServerUrl ?? null,
      idpSecret: config.identityServerSecret,
      apiSecret: config.adminApiSecret,
      fromEnvironment
    },
    (setting) =>
      logger.info(
        { tenant: config.operatorTenantId, setting: operatorSettingEnv[setting] },
        `operator tenant: ${operatorSettingEnv[setting]} from the configuration replaces the value stored (set through the service API)`
      ),
    { actor: { kind: 'configuration', host: hostname() } }
  )
}

/** Releases what the services hold: the key fetcher, the rate limiter's Redis, the database. */
async function closeServices(services: Services): Promise<void> {
  await services.clientKeys.close()
  await services.resourceServerKeys?.close()
  await services.rateLimits.close()
  await services.db.close()
}

/**
 * The services on the configured database without any listener, for the operator's CLI: the
 * schema must be up to date (the CLI never migrates behind a running server's back). Beside a
 * running server on the embedded database, they use that server's database.
 */
export async function openServices(
  loaded: LoadedConfig,
  command: string,
  logger: Logger
): Promise<{ services: Services; close(): Promise<void> }> {
  const db = await openDb(loaded.config, { command, logger, attach: true })
  try {
    await requireCurrentSchema(db)
    // A command run before any server started generates the settings: it shows them too.
    const { config, generated } = await resolveRuntimeConfig(db, loaded)
    const shown = await showable(db, generated)
    if (shown.size > 0) announceOnStderr(generatedSettingsNotice(shown, config))
    const services = createServices({ config, db, logger })
    return { services, close: () => closeServices(services) }
  } catch (err) {
    await db.close()
    throw err
  }
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

const listenerSettings = {
  auth: { port: 'authPort', host: 'authListenHost' },
  interaction: { port: 'interactionPort', host: 'interactionListenHost' },
  introspection: { port: 'introspectionPort', host: 'introspectionListenHost' },
  admin: { port: 'adminPort', host: 'adminListenHost' },
  service: { port: 'serviceApiPort', host: 'serviceApiListenHost' }
} as const satisfies Record<ListenerName, { port: keyof Config; host: keyof Config }>

function addressOf(config: Config, name: ListenerName): ListenAddress {
  const { port, host } = listenerSettings[name]
  return {
    host: config[host],
    port: config[port],
    portSetting: configSchema[port].env,
    hostSetting: configSchema[host].env
  }
}

/**
 * Refuses, naming the setting, a listener address that cannot be bound (a port in use), before
 * a start creates anything: run by `opas start` before it opens the database.
 */
export const checkListenersFree = (config: Config): Promise<void> =>
  checkListenAddresses(listenerNames.map((name) => addressOf(config, name)))

const DAY_SECONDS = 86_400
/** How often the webhook deliverer looks for new events and due retries. */
const WEBHOOK_POLL_MS = 200

function startRetention(services: Services, config: Config, logger: Logger): RetentionJob {
  const tokenAge = config.accessTokenDeletionDays * DAY_SECONDS
  // Counted from the end of the interaction, which may outlive a short retention period.
  const pendingAge = config.pendingGrantDeletionDays * DAY_SECONDS + config.interactionExpirySeconds
  const { grantOperations, tokens, db } = services
  return startRetentionJob({
    rules: {
      tokens: (limit) => tokens.purgeSpent(limit, tokenAge),
      // Kept unless GRANT_DELETION_DAYS says otherwise: finished grants are the operators' history.
      finishedGrants: async (limit) =>
        config.grantDeletionDays === undefined
          ? 0
          : grantOperations.purgeFinished(limit, config.grantDeletionDays * DAY_SECONDS),
      abandonedGrants: (limit) => grantOperations.purgeAbandoned(limit, pendingAge),
      replays: (limit) => deleteExpiredReplays(db, limit),
      events: (limit) => services.events.purge(limit, config.eventRetentionDays),
      webhooks: (limit) => services.webhooks.purge(limit, config.webhookRetentionDays)
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
    /** The services' clock (tests move it on instead of sleeping); the system's otherwise. */
    now?: () => number
    /**
     * The start interrupted (Ctrl-C, SIGTERM): rejects with its reason at the next step, having
     * stopped what it started (the first database creation included).
     */
    abort?: AbortSignal
  }
): Promise<RunningServer> {
  const { logger, abort } = options
  const announce = options.announce ?? announceOnStderr
  const db = await openDbWhenReady(loaded.config, { command: 'opas start', logger, abort })
  let apps: Apps | undefined
  try {
    abort?.throwIfAborted()
    await prepareSchema(db, loaded.config, logger)
    abort?.throwIfAborted()
    const { config, generated } = await resolveRuntimeConfig(db, loaded)
    const services = createServices({
      config,
      db,
      logger,
      resolve: options.resolve,
      now: options.now
    })
    await syncOperatorTenant(services, config, loaded, logger)
    apps = await buildApps(services)
    const urls = {} as Record<ListenerName, string>
    for (const name of listenerNames) {
      abort?.throwIfAborted()
      const address = addressOf(config, name)
      urls[name] = await apps[name]
        .listen({ host: address.host, port: address.port })
        .catch((err: unknown) => {
          throw bindFailure(address, err) ?? err
        })
    }
    logger.info(
      {
        urls,
        database: db.kind,
        tenant: config.operatorTenantId,
        ed25519: ed25519Backend,
        ...(config.console === 'on' ? { console: `${urls.admin}/` } : {})
      },
      'opas listening'
    )
    // Every start, in production too: who may change every tenant is not a one-time notice.
    const servicePort = (apps.service.server.address() as AddressInfo).port
    for (const warning of serviceApiWarnings(config, servicePort)) {
      logger.warn({ listener: 'service' }, warning)
    }
    // Shown once the server is up, by one process: a start that failed before (a port in use)
    // leaves them to the next start instead of never.
    const shown = await showable(db, generated)
    if (shown.size > 0) {
      const notice = generatedSettingsNotice(shown, config)
      announce(
        config.console === 'on'
          ? [
              ...notice,
              `The operator console is at ${urls.admin}/: sign in with OPERATOR_TENANT_ID and`,
              'ADMIN_API_SECRET.'
            ]
          : notice
      )
    }
    const retention =
      config.databaseCleanupWorkers > 0 ? startRetention(services, config, logger) : undefined
    // Every process delivers: one at a time reads new events (a lock), any takes retries.
    const webhooks = services.webhooks.deliverer()
    webhooks.start(WEBHOOK_POLL_MS)
    const running = apps
    return {
      services,
      apps: running,
      urls,
      retention,
      async close() {
        await retention?.stop()
        await webhooks.close()
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
        await closeServices(services)
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
