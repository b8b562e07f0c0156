import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DataDirInUseError, lockDataDir, type DataDirLock } from './data-dir-lock.js'
import type { Db } from '../db.js'
import { startServer, type ServerLog, type RunningServer } from './postgres-server.js'
import { readyServer } from './postmaster-pid.js'
import { openMemoryDatabase } from './memory-db.js'
import { importPglite, pgliteDir } from './pglite-import.js'
import { createPostgresDb } from '../postgres-db.js'
import { ensurePrivateFolder, readPrivateFile, writePrivateFile } from '../private-files.js'

/**
 * The embedded database: a private PostgreSQL server (the engine production runs) in
 * DATA_DIR/postgres, which opas starts, supervises and stops. One opas process owns a data
 * directory at a time ({@link lockDataDir}); `memory://` gives a throwaway database instead.
 */

export interface EmbeddedLog extends ServerLog {
  error(fields: object, message: string): void
}

export interface EmbeddedOptions {
  /** What the process opening it does (`opas start`), recorded in the directory's lock. */
  command?: string
  /** Connections opas opens to it (DATABASE_POOL_SIZE). */
  poolSize: number
  /** EMBEDDED_DATABASE_USER: who runs the server when opas runs as root. */
  runAs?: string
  /** Where the server's own messages go; nowhere unless given. */
  log?: EmbeddedLog
  /**
   * For the operator's commands: when another opas process owns the directory, connect to the
   * server it runs (through its socket) instead of being refused.
   */
  attach?: boolean
  /**
   * A start interrupted (Ctrl-C): the first database creation, or the wait for the server, stops
   * and the start rejects with the signal's reason, leaving no program of the server running.
   */
  abort?: AbortSignal
}

const silent: EmbeddedLog = { debug() {}, info() {}, warn() {}, error() {} }

/** Where the cluster lives under DATA_DIR. */
export const clusterDir = (dataDir: string): string => join(dataDir, 'postgres')

/**
 * The embedded server's superuser password, in a file only opas's user may read (DATA_DIR is
 * closed to others; the server's own user cannot read it either).
 */
const passwordFile = (dataDir: string): string => join(dataDir, 'postgres.password')

const readPassword = (dataDir: string): string | undefined =>
  readPrivateFile(passwordFile(dataDir), 'the embedded database password file')?.trim()

/** The password, made and kept on first need; `made`: there was none before. */
function keepPassword(dataDir: string): { password: string; made: boolean } {
  const kept = readPassword(dataDir)
  if (kept) return { password: kept, made: false }
  const password = randomBytes(32).toString('base64url')
  writePrivateFile(passwordFile(dataDir), `${password}\n`)
  return { password, made: true }
}

/** The server another opas runs on DATA_DIR, through its socket, with the password kept. */
function attachTo(dataDir: string) {
  const password = readPassword(dataDir)
  return password === undefined ? undefined : readyServer(resolve(clusterDir(dataDir)), password)
}

/** True when DATA_DIR holds an embedded database already (a first start creates it). */
export const embeddedDatabaseExists = (dataDir: string): boolean =>
  dataDir === 'memory://' ||
  existsSync(join(clusterDir(dataDir), 'PG_VERSION')) ||
  existsSync(join(pgliteDir(dataDir), 'PG_VERSION'))

/**
 * Extra server connections beyond opas's pool: the webhook deliverer's own (Db.separate), the
 * CLI beside it, and a margin.
 */
const SPARE_CONNECTIONS = 9
/** Waits between restarts of a server that stopped unexpectedly, the last one repeating. */
const RESTART_DELAYS_MS = [0, 500, 1_000, 2_000, 5_000]

export async function createEmbeddedDb(dataDir: string, options: EmbeddedOptions): Promise<Db> {
  const { log = silent, poolSize } = options
  if (dataDir === 'memory://') return createMemoryDb(poolSize, options.runAs, log)
  // Its secrets (the database password, generated settings) are for opas's user alone.
  if (ensurePrivateFolder(resolve(dataDir), 'DATA_DIR')) {
    log.warn({ dataDir }, 'DATA_DIR was open to other users: it is now closed to them (0700)')
  }
  let lock: DataDirLock
  try {
    lock = await lockDataDir(dataDir, options.command ?? 'opas')
  } catch (err) {
    const running = options.attach && err instanceof DataDirInUseError && attachTo(dataDir)
    if (!running) throw err
    return createPostgresDb(running, Math.min(poolSize, 2), { kind: 'embedded' })
  }
  if (lock.replaced !== undefined) {
    log.warn(
      { dataDir, previousOwner: lock.replaced },
      'data directory lock left by a process that is no longer running: taken over'
    )
  }
  const dir = resolve(clusterDir(dataDir))
  let server: RunningServer | undefined
  let closing = false
  let password: { password: string; made: boolean }
  try {
    password = keepPassword(dataDir)
  } catch (err) {
    lock.release()
    throw err
  }
  // A password made now for a cluster that exists (its file was lost): the server is told it.
  let resetPassword = password.made && existsSync(join(dir, 'PG_VERSION'))
  const start = async (abort?: AbortSignal): Promise<RunningServer> => {
    const started = await startServer({
      abort,
      dir,
      durable: true,
      password: password.password,
      resetPassword,
      maxConnections: poolSize + SPARE_CONNECTIONS,
      runAs: options.runAs,
      log,
      onUnexpectedExit: (reason) => void restart(reason)
    })
    resetPassword = false
    return started
  }

  /**
   * Brings back a server that was killed or crashed: PostgreSQL recovers from its write-ahead
   * log, so every committed change is there. Requests meanwhile fail as on an external
   * database's outage; the pool reconnects to the same socket.
   */
  async function restart(reason: string): Promise<void> {
    log.error(
      { reason, lastLog: server?.recentLog().slice(-5) },
      'the embedded database stopped unexpectedly: restarting it'
    )
    for (let attempt = 0; !closing; attempt++) {
      await sleep(RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]!)
      if (closing) return
      try {
        server = await start()
        log.info({ pid: server.pid, attempt: attempt + 1 }, 'the embedded database is back')
        return
      } catch (err) {
        log.error({ err, attempt: attempt + 1 }, 'the embedded database could not be restarted')
      }
    }
  }

  /** After the pool: the server stops, then the directory is free. */
  const stopServer = async () => {
    closing = true
    try {
      await server?.stop()
    } finally {
      lock.release()
    }
  }
  let db: Db | undefined
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      log.info({ path: dir }, 'creating the embedded database')
    }
    server = await start(options.abort)
    db = createPostgresDb(server.connection(), poolSize, {
      kind: 'embedded',
      onClose: stopServer
    })
    // Also when a start was killed after creating the cluster but before the copy committed.
    await importPglite(dataDir, db, log)
    return db
  } catch (err) {
    await (db ? db.close() : stopServer())
    throw err
  }
}

async function createMemoryDb(
  poolSize: number,
  runAs: string | undefined,
  log: EmbeddedLog
): Promise<Db> {
  const memory = await openMemoryDatabase({ runAs, log })
  return createPostgresDb(memory.connection, poolSize, { kind: 'embedded', onClose: memory.drop })
}
