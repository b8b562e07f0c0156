import { randomBytes } from 'node:crypto'
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startServer, type ServerLog, type RunningServer } from './postgres-server.js'
import { isServerOf, readPostmasterPid } from './postmaster-pid.js'
import { viaProc } from './server-access.js'
import type { ServerConnection } from '../postgres-db.js'
import { isRunning } from './process-table.js'

/**
 * `DATA_DIR=memory://`: throwaway databases for tests and trials. One embedded server per
 * process, in a temporary folder, started on first use and run without fsync; each memory://
 * database is a fresh database on it, dropped when closed. The server stops a moment after its
 * last database closes, or when the process exits, and its folder goes with it; a folder left by
 * a process that was killed is cleared by the next process that starts one.
 */

interface SharedServer {
  postgres: RunningServer
  users: number
  idle?: NodeJS.Timeout
  /** Stops the server and removes its folder; the next database starts another. */
  stop(): void
}

const PREFIX = 'opas-memory-'
/** How long an unused server waits for another database before it stops. */
const LINGER_MS = 2_000

/** What a memory server's folder leaves open to others: nothing, where /proc lets the server in. */
const leftOpen = viaProc || process.getuid?.() !== 0 ? 0 : 0o011

let current: SharedServer | undefined
let starting: Promise<SharedServer> | undefined
let created = 0

/**
 * True for a folder this user made for a memory server: a real folder (not a link), its own,
 * closed to others. Anything else in the shared temporary folder may be another user's, made to
 * look like ours: it is neither read, signalled for, nor removed.
 */
function isOurs(path: string): boolean {
  try {
    const st = lstatSync(path)
    const mine = process.getuid === undefined || st.uid === process.getuid()
    return st.isDirectory() && mine && (st.mode & 0o077 & ~leftOpen) === 0
  } catch {
    return false
  }
}

/** Removes the folders (and stops the servers) of processes that died before cleaning up. */
function sweepLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(PREFIX.length).split('-')[0])
    // The pid alone is enough: one reused by another process only keeps the folder until later.
    if (!name.startsWith(PREFIX) || !Number.isInteger(pid) || isRunning(pid)) continue
    const root = join(tmpdir(), name)
    if (!isOurs(root)) continue
    // isServerOf: only a server working in that folder, as the folder's owner.
    const cluster = join(root, 'cluster')
    const serverPid = Number(readPostmasterPid(cluster)?.[0])
    if (isServerOf(serverPid, cluster)) process.kill(serverPid, 'SIGKILL')
    rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

async function startShared(options: { runAs?: string; log: ServerLog }): Promise<SharedServer> {
  sweepLeftovers()
  const root = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`))
  // Without /proc the server's user (opas as root) must be let in: see serverDataDir.
  if (leftOpen) chmodSync(root, 0o700 | leftOpen)
  const removeRoot = () => rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  const forget = () => {
    if (current === server) current = undefined
  }
  let postgres: RunningServer
  try {
    postgres = await startServer({
      dir: join(root, 'cluster'),
      durable: false,
      maxConnections: 100,
      // Never written down: the server and its data go with this process.
      password: randomBytes(32).toString('base64url'),
      runAs: options.runAs,
      log: options.log,
      background: true,
      onUnexpectedExit: forget
    })
  } catch (err) {
    removeRoot()
    throw err
  }
  // Nothing in it is worth a clean shutdown.
  const onExit = () => {
    try {
      process.kill(postgres.pid, 'SIGKILL')
    } catch {
      // gone already
    }
    removeRoot()
  }
  process.on('exit', onExit)
  const server: SharedServer = {
    postgres,
    users: 0,
    stop() {
      forget()
      process.off('exit', onExit)
      void postgres.stop().finally(removeRoot)
    }
  }
  return server
}

async function onAdmin<T>(server: SharedServer, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(server.postgres.connection())
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function openMemoryDatabase(options: { runAs?: string; log: ServerLog }): Promise<{
  connection: ServerConnection
  drop(): Promise<void>
}> {
  const server =
    current ??
    (await (starting ??= startShared(options)
      .then((started) => (current = started))
      .finally(() => (starting = undefined))))
  server.users++
  clearTimeout(server.idle)
  const database = `memory_${++created}`
  try {
    await onAdmin(server, (c) => c.query(`create database ${database}`))
  } catch (err) {
    server.users--
    throw err
  }
  let dropped = false
  return {
    connection: server.postgres.connection(database),
    async drop() {
      if (dropped) return
      dropped = true
      try {
        await onAdmin(server, (c) => c.query(`drop database if exists ${database} with (force)`))
      } finally {
        if (--server.users === 0) {
          server.idle = setTimeout(server.stop, LINGER_MS)
          server.idle.unref()
        }
      }
    }
  }
}
