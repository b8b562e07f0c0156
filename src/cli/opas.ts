#!/usr/bin/env node
import cluster from 'node:cluster'
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  ConfigError,
  loadConfig,
  redactConfig,
  renderConfigReference,
  type LoadedConfig
} from '../config/index.js'
import { createLogger } from '../logger.js'
import { openDb, prepareSchema, startServer } from '../server.js'
import { migrate } from '../storage/migrate.js'
import { superviseWorkers } from './cluster.js'

const usage = `usage: opas <command>

commands:
  start          start every listener (migrates first unless ENABLE_MANUAL_MIGRATIONS=true)
    --workers N  run N server processes sharing the ports (PostgreSQL only)
  migrate        apply pending database migrations and exit
  config check   validate the configuration and print it with secrets redacted
  config docs    print the configuration reference (Markdown)

Configuration comes from the environment and the ENV_FILE file (default .env).`

const readFile = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined)

function load(): LoadedConfig {
  try {
    return loadConfig(process.env, readFile)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `opas: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`
      )
      process.exit(1)
    }
    throw err
  }
}

async function start(workers: number): Promise<void> {
  const loaded = load()
  const logger = createLogger(loaded.config.logLevel)
  if (workers > 1 && cluster.isPrimary) {
    if (!loaded.config.databaseUrl) {
      throw new Error(
        '--workers needs PostgreSQL (AUTH_DATABASE_URL): embedded PGlite serves one process'
      )
    }
    superviseWorkers(workers, logger, loaded.config.shutdownTimeoutMs)
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
}

async function runMigrations(): Promise<void> {
  const { config } = load()
  const db = await openDb(config)
  try {
    const applied = await migrate(db)
    process.stdout.write(
      applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n'
    )
  } finally {
    await db.close()
  }
}

async function checkConfig(): Promise<void> {
  const loaded = load()
  process.stdout.write(`${JSON.stringify(redactConfig(loaded.config), null, 2)}\n`)
  if (loaded.missing.length > 0) {
    process.stdout.write(`generated on first start: ${loaded.missing.join(', ')}\n`)
  }
  const db = await openDb(loaded.config)
  try {
    await prepareSchema(
      db,
      { ...loaded.config, enableManualMigrations: true },
      createLogger('silent')
    )
    process.stdout.write('database reachable, schema up to date\n')
  } catch (err) {
    process.stdout.write(`database: ${(err as Error).message}\n`)
    process.exitCode = 1
  } finally {
    await db.close()
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: { workers: { type: 'string' } }
  })
  const command = positionals.join(' ')
  const workers = values.workers === undefined ? 1 : Number(values.workers)
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new Error('--workers takes a whole number from 1 to 64')
  }
  if (command === 'start') return start(workers)
  if (command === 'migrate') return runMigrations()
  if (command === 'config check') return checkConfig()
  if (command === 'config docs') {
    process.stdout.write(`${renderConfigReference()}\n`)
    return
  }
  process.stderr.write(`${usage}\n`)
  process.exit(command === '' || command === 'help' ? 0 : 2)
}

main().catch((err: unknown) => {
  process.stderr.write(`opas: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
