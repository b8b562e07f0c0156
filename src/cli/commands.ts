import cluster from 'node:cluster'
import { existsSync, readFileSync } from 'node:fs'
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
import { openDb, requireCurrentSchema, settingLines, startServer } from '../server.js'
import { generatedSettingsFile, readGeneratedSettings } from '../storage/generated-settings.js'
import { migrate } from '../storage/migrate.js'
import { embeddedDatabaseExists } from '../storage/embedded-db.js'
import { superviseWorkers } from './cluster.js'

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

export async function start(options: { workers: number }): Promise<void> {
  const loaded = loadCliConfig()
  const logger = createLogger(loaded.config.logLevel, { format: loaded.config.logFormat })
  if (options.workers > 1 && cluster.isPrimary) {
    if (!loaded.config.databaseUrl) {
      throw new CliError(
        '--workers needs PostgreSQL (AUTH_DATABASE_URL): one process owns an embedded database'
      )
    }
    superviseWorkers(options.workers, logger, loaded.config.shutdownTimeoutMs)
    return
  }
  const server = await startServer(loaded, { logger })
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
  const db = await openDb(config, { command: 'opas migrate', logger: quiet })
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
