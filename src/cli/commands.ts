import cluster from 'node:cluster'
import { existsSync, readFileSync } from 'node:fs'
import { constants } from 'node:os'
import {
  ConfigError,
  configSchema,
  loadConfig,
  redactConfig,
  renderConfigReference,
  type Config,
  type LoadedConfig
} from '../config/index.js'
import { createLogger } from '../logger.js'
import {
  checkListenersFree,
  openDb,
  openDbWhenReady,
  requireCurrentSchema,
  settingLines,
  startServer
} from '../server.js'
import { generatedSettingsFile, readGeneratedSettings } from '../storage/generated-settings.js'
import { migrate } from '../storage/migrate.js'
import { embeddedDatabaseExists } from '../storage/embedded/embedded-db.js'
import { superviseWorkers } from './workers.js'

/** A failure the CLI reports in one line (or a list) and exits 1 on: no stack trace. */
export class CliError extends Error {}

/** A command line that cannot be run as given (found once the command runs): exit 2. */
export class CliUsageError extends Error {}

const readFile = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined)

/** The configuration, or a CliError listing every problem. */
export function loadCliConfig(): LoadedConfig {
  try {
    return loadConfig(process.env, readFile)
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(
        `invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`
      )
    }
    throw err
  }
}

const quiet = createLogger('silent')

/**
 * True, having said so, when DATA_DIR holds no embedded database yet: a read-only command does
 * not create one (the first `opas start` does).
 */
function noDatabaseYet(config: Config): boolean {
  if (config.databaseUrl || embeddedDatabaseExists(config.dataDir)) return false
  process.stdout.write(
    `database: none yet in ${config.dataDir}: the first \`opas start\` creates it\n`
  )
  return true
}

/** A start ended by a signal: the process exits as a program killed by it would (128 + n). */
class StartInterrupted extends Error {
  readonly exitCode: number
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal} while starting`)
    this.exitCode = 128 + constants.signals[signal]
  }
}

export async function start(options: { workers: number }): Promise<void> {
  const loaded = loadCliConfig()
  const logger = createLogger(loaded.config.logLevel, { format: loaded.config.logFormat })
  // The primary checks for the workers, which share its ports through node:cluster.
  if (cluster.isPrimary) await checkListenersFree(loaded.config)
  if (options.workers > 1 && cluster.isPrimary) {
    if (!loaded.config.databaseUrl) {
      throw new CliError(
        '--workers needs PostgreSQL (AUTH_DATABASE_URL): one process owns an embedded database'
      )
    }
    superviseWorkers(options.workers, logger, loaded.config.shutdownTimeoutMs)
    return
  }
  // A signal while starting (Ctrl-C during the first database creation, a container stopped
  // while its database is awaited) ends the start where it is, leaving nothing running.
  const starting = new AbortController()
  const interrupt = (signal: NodeJS.Signals) => {
    if (starting.signal.aborted) return
    logger.info({ signal }, 'interrupted while starting: stopping')
    starting.abort(new StartInterrupted(signal))
  }
  process.on('SIGTERM', interrupt)
  process.on('SIGINT', interrupt)
  let server: Awaited<ReturnType<typeof startServer>>
  try {
    server = await startServer(loaded, { logger, abort: starting.signal })
  } catch (err) {
    if (!(err instanceof StartInterrupted)) throw err
    logger.info({ signal: err.signal }, 'stopped before the server started')
    process.exit(err.exitCode)
  } finally {
    process.off('SIGTERM', interrupt)
    process.off('SIGINT', interrupt)
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: finishing in-flight requests')
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting')
      process.exit(1)
    }, loaded.config.shutdownTimeoutMs)
    force.unref()
    server.close().then(
      () => {
        logger.info('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down')
        process.exit(1)
      }
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // A signal in the moment between the start's last step and these handlers.
  if (starting.signal.aborted) stop((starting.signal.reason as StartInterrupted).signal)
  // Under `npm start` the server is npm's child, and npm forwards SIGTERM and SIGINT to it. A
  // killed npm (SIGKILL) forwards nothing: the server sees it was orphaned and stops too.
  if (process.env.npm_lifecycle_event === 'start') {
    const parent = process.ppid
    setInterval(() => {
      if (process.ppid !== parent) stop('npm exited')
    }, 1000).unref()
  }
}

export async function runMigrations(): Promise<void> {
  const { config } = loadCliConfig()
  const logger = createLogger(config.logLevel, { format: config.logFormat })
  // A migration job may start beside the database, as a server does: it waits as a start does.
  const db = await openDbWhenReady(config, { command: 'opas migrate', logger })
  try {
    const applied = await migrate(db)
    process.stdout.write(
      applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n'
    )
  } finally {
    await db.close()
  }
}

export async function checkConfig(): Promise<void> {
  const loaded = loadCliConfig()
  process.stdout.write(`${JSON.stringify(redactConfig(loaded.config), null, 2)}\n`)
  if (loaded.missing.length > 0) {
    const names = loaded.missing.map((setting) => configSchema[setting].env)
    process.stdout.write(`generated on first start: ${names.join(', ')}\n`)
  }
  if (noDatabaseYet(loaded.config)) return
  const db = await openDb(loaded.config, {
    command: 'opas config check',
    logger: quiet,
    attach: true
  })
  try {
    await requireCurrentSchema(db)
    process.stdout.write('database reachable, schema up to date\n')
  } catch (err) {
    process.stdout.write(`database: ${(err as Error).message}\n`)
    process.exitCode = 1
  } finally {
    await db.close()
  }
}

export function printConfigDocs(): void {
  process.stdout.write(`${renderConfigReference()}\n`)
}

/** `opas secrets show`: the settings opas generated on its first start, as `NAME=value` lines. */
export async function showSecrets(): Promise<void> {
  const { config } = loadCliConfig()
  // Nothing to show is an answer for `config check`; here it means the wrong place (run outside
  // opas's folder, or without its DATA_DIR): a script reading the secrets must not go on empty.
  if (!config.databaseUrl && !embeddedDatabaseExists(config.dataDir)) {
    throw new CliError(
      `no opas database in DATA_DIR ${config.dataDir}: run this where opas runs (in its ` +
        'folder, or with its DATA_DIR or AUTH_DATABASE_URL), after its first `opas start`'
    )
  }
  const db = await openDb(config, { command: 'opas secrets show', logger: quiet, attach: true })
  try {
    const values = await readGeneratedSettings(db, generatedSettingsFile(config.dataDir))
    if (values.size === 0) {
      process.stdout.write(
        'opas has generated no settings in this database (they are set in the configuration, ' +
          'or the server has not started on it yet)\n'
      )
      return
    }
    process.stdout.write(`${settingLines(values).join('\n')}\n`)
  } finally {
    await db.close()
  }
}
