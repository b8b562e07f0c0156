import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import {
  isServerOf,
  readPostmasterPid,
  startCluster,
  type ClusterLog,
  type RunningCluster
} from './embedded-cluster.js'
import type { ServerConnection } from './postgres-db.js'
import { isRunning } from './process-table.js'

/**
 * `DATA_DIR=memory://`: throwaway databases for tests and trials. One embedded server per
 * process, in a temporary folder, started on first use and run without fsync; each memory://
 * database is a fresh database on it, dropped when closed. The server stops a moment after its
 * last database closes, or when the process exits, and its folder goes with it; a folder left by
 * a process that was killed is cleared by the next process that starts one.
 */

interface SharedServer {
  cluster: RunningCluster
  users: number
  idle?: NodeJS.Timeout
  /** Stops the server and removes its folder; the next database starts another. */
  stop(): void
}

const PREFIX = 'opas-memory-'
/** How long an unused server waits for another database before it stops. */
const LINGER_MS = 2_000

let current: SharedServer | undefined
let starting: Promise<SharedServer> | undefined
let created = 0

/** Removes the folders (and stops the servers) of processes that died before cleaning up. */
function sweepLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(PREFIX.length).split('-')[0])
    if (!name.startsWith(PREFIX) || !Number.isInteger(pid) || isRunning(pid)) continue
    const root = join(tmpdir(), name)
    const serverPid = Number(readPostmasterPid(join(root, 'cluster'))?.[0])
    if (serverPid > 0 && isServerOf(serverPid, join(root, 'cluster'))) {
      process.kill(serverPid, 'SIGKILL')
    }
    rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

async function startShared(options: { runAs?: string; log: ClusterLog }): Promise<SharedServer> {
  sweepLeftovers()
  const root = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`))
  // The server may run as another user (opas as root): it must be able to enter.
  chmodSync(root, 0o711)
  const removeRoot = () => rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  const forget = () => {
    if (current === server) current = undefined
  }
  let cluster: RunningCluster
  try {
    cluster = await startCluster({
      dir: join(root, 'cluster'),
      durable: false,
      maxConnections: 100,
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
      process.kill(cluster.pid, 'SIGKILL')
    } catch {
      // gone already
    }
    removeRoot()
  }
  process.on('exit', onExit)
  const server: SharedServer = {
    cluster,
    users: 0,
    stop() {
      forget()
      process.off('exit', onExit)
      void cluster.stop().finally(removeRoot)
    }
  }
  return server
}

async function onAdmin<T>(server: SharedServer, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(server.cluster.connection())
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function openMemoryDatabase(options: { runAs?: string; log: ClusterLog }): Promise<{
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
    connection: server.cluster.connection(database),
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
