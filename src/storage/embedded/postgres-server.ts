import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, lchownSync, renameSync, rmSync, statSync } from 'node:fs'
import type { Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  requiresPassword,
  runProgram,
  securePassword,
  serverConnection,
  serverDataDir,
  serverEnv,
  socketPlace,
  SUPERUSER,
  viaProc,
  writeAccessRules,
  PORT,
  type SocketPlace
} from './server-access.js'
import { postgresBinariesFor, type PostgresBinaries } from './postgres-binaries.js'
import { blockedOnTheWay, EmbeddedDatabaseError, serverUser, type OsUser } from './server-user.js'
import type { ServerConnection } from '../postgres-db.js'
import { waitGone } from './process-table.js'
import { isServerOf, readPostmasterPid, READY } from './postmaster-pid.js'
import { ensurePrivateFolder } from '../private-files.js'

/**
 * A private PostgreSQL server for one data directory: initialised on first use, started as a
 * child of opas on a Unix socket only it and its user can open, stopped with opas. PostgreSQL's
 * own crash recovery makes a SIGKILL of either process safe; a server an earlier, killed opas
 * left running is found through its `postmaster.pid` and stopped before a new one starts.
 *
 * The words are PostgreSQL's: the cluster is the data directory (PGDATA, initdb makes it), the
 * server the program that runs on it. (opas's own worker processes, `--workers`, are workers.)
 */

export interface ServerLog {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

export interface ServerOptions {
  /** The cluster's directory (PGDATA). Created, with its parent, when missing. */
  dir: string
  /** False for a throwaway server (memory://): no fsync, no crash safety, faster. */
  durable: boolean
  /** Connections the server accepts (opas's pool plus the CLI and a margin). */
  maxConnections: number
  /** EMBEDDED_DATABASE_USER: the system user the server runs as when opas runs as root. */
  runAs?: string
  /** The superuser's password: set when the cluster is made, required on every connection. */
  password: string
  /** True when the password is new for an existing cluster (its file was lost): set it. */
  resetPassword?: boolean
  log: ServerLog
  /** True: the server does not keep opas's process alive (memory://; the exit hook stops it). */
  background?: boolean
  /** Told when the server stops without being asked (killed, crashed). */
  onUnexpectedExit?: (reason: string) => void
  /** A start interrupted (Ctrl-C): stops creating the cluster or waiting for the server. */
  abort?: AbortSignal
}

export interface RunningServer {
  /** How node-postgres reaches `database` (default `postgres`) on it, as its superuser. */
  connection(database?: string): ServerConnection
  readonly pid: number
  /** The server's last log lines, for error messages. */
  recentLog(): string[]
  /** Fast shutdown (SIGINT), escalating if it hangs; resolves once the server has exited. */
  stop(): Promise<void>
}

const STOP_GRACE_MS = 30_000
const READY_TIMEOUT_MS = 10 * 60_000

/**
 * initdb into a scratch folder renamed into place once complete, so a start killed halfway
 * leaves no half-made cluster that later starts would take for a real one. The superuser gets
 * its password from initdb's standard input (never a file or an argument others could read).
 */
async function initialise(
  dir: string,
  user: OsUser | undefined,
  binaries: PostgresBinaries,
  options: ServerOptions
): Promise<void> {
  const scratch = `${dir}.creating`
  rmSync(scratch, { recursive: true, force: true })
  ensurePrivateFolder(scratch, 'the new embedded database')
  if (user) lchownSync(scratch, user.uid, user.gid)
  const creating = runProgram(
    user,
    binaries.initdb,
    [
      '--pgdata',
      serverDataDir(scratch),
      '--username',
      SUPERUSER,
      '--auth',
      'scram-sha-256',
      '--pwfile',
      '/dev/stdin',
      '--encoding',
      'UTF8',
      '--locale',
      'C',
      '--no-instructions',
      ...(options.durable ? [] : ['--no-sync'])
    ],
    { cwd: scratch, input: `${options.password}\n`, abort: options.abort }
  )
  // initdb has exited, finished or not: a half-made cluster is not left for anyone to find.
  await creating.catch((err: unknown) => {
    rmSync(scratch, { recursive: true, force: true })
    throw err
  })
  writeAccessRules(scratch, user)
  renameSync(scratch, dir)
}

/** Stops a server by its pid: fast shutdown, then immediate, then SIGKILL. */
async function stopServerPid(pid: number): Promise<void> {
  for (const [signal, ms] of [
    ['SIGINT', STOP_GRACE_MS],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000]
  ] as const) {
    try {
      process.kill(pid, signal)
    } catch {
      return
    }
    if (await waitGone(pid, ms)) return
  }
}

/** The server's settings: small and quiet, since it serves one opas on one machine. */
function serverSettings(socketDir: string, options: ServerOptions): Record<string, string> {
  return {
    listen_addresses: '',
    port: String(PORT),
    unix_socket_directories: socketDir,
    unix_socket_permissions: '0700',
    max_connections: String(options.maxConnections),
    shared_buffers: '32MB',
    // Reads in the backend itself: the default (worker) keeps three more processes for
    // asynchronous reads that a small, cached database does not need (PostgreSQL 18).
    io_method: 'sync',
    // One opas reads and writes: no replication, no WAL for standbys, no parallel workers.
    wal_level: 'minimal',
    max_wal_senders: '0',
    max_logical_replication_workers: '0',
    max_parallel_workers_per_gather: '0',
    huge_pages: 'off',
    timezone: 'UTC',
    log_timezone: 'UTC',
    ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' })
  }
}

/** Severity of one server log line (`… [pid] LEVEL:  text`). */
const logLine = /\b(DEBUG\d?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC):\s+(.*)$/

function forwardLog(child: ChildProcess, log: ServerLog, recent: string[]): void {
  const onLine = (line: string) => {
    if (line.trim() === '') return
    recent.push(line)
    if (recent.length > 20) recent.shift()
    const [, level, text] = logLine.exec(line) ?? [undefined, 'LOG', line]
    const fields = { component: 'embedded-postgres', pid: child.pid }
    if (level === 'FATAL' || level === 'PANIC' || level === 'WARNING') log.warn(fields, text!)
    else log.debug(fields, text!)
  }
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine)
  }
}

async function waitReady(
  dir: string,
  child: ChildProcess,
  recent: string[],
  spawnFailure: () => Error | undefined,
  abort: AbortSignal | undefined
): Promise<void> {
  for (const end = Date.now() + READY_TIMEOUT_MS; Date.now() < end; await sleep(20)) {
    if (abort?.aborted) {
      await stopServerPid(child.pid!)
      throw abort.reason
    }
    const failure = spawnFailure()
    if (failure) {
      throw new EmbeddedDatabaseError(
        `the embedded database could not be started: ${failure.message}`
      )
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new EmbeddedDatabaseError(
        `the embedded database did not start (${child.signalCode ?? `exit ${child.exitCode}`}):` +
          `\n  ${recent.slice(-8).join('\n  ')}`
      )
    }
    const lines = readPostmasterPid(dir)
    if (lines?.[0] === String(child.pid) && lines[7]?.trim() === READY) return
  }
  child.kill('SIGQUIT')
  throw new EmbeddedDatabaseError('the embedded database did not become ready in 10 minutes')
}

/** A server that could not start because its predecessor's processes are still leaving. */
const predecessorLeaving = /pre-existing shared memory block|lock file .* already exists/

async function launch(
  options: ServerOptions,
  user: OsUser | undefined,
  binaries: PostgresBinaries,
  socket: SocketPlace
): Promise<{ child: ChildProcess; recent: string[] }> {
  const settings = serverSettings(socket.server, options)
  const args = [
    '-D',
    serverDataDir(options.dir),
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])
  ]
  for (let attempt = 1; ; attempt++) {
    const recent: string[] = []
    const child = spawn(binaries.postgres, args, {
      uid: user?.uid,
      gid: user?.gid,
      // Entered as opas's user, before the server becomes its own: see serverDataDir.
      cwd: options.dir,
      env: serverEnv(),
      // Its own process group: a Ctrl-C in the terminal reaches opas, which drains its
      // requests and then stops the server, instead of the server quitting under them.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    // A program that cannot be run (EACCES, ENOENT) never exits: fail the start at once.
    let failure: Error | undefined
    child.on('error', (err) => (failure = err))
    forwardLog(child, options.log, recent)
    try {
      await waitReady(options.dir, child, recent, () => failure, options.abort)
      return { child, recent }
    } catch (err) {
      if (
        !options.abort?.aborted &&
        attempt < 50 &&
        recent.some((line) => predecessorLeaving.test(line))
      ) {
        await sleep(100)
        continue
      }
      throw err
    }
  }
}

/**
 * A killed opas (SIGKILL runs no exit hook) would leave its server running, holding its memory
 * and its socket, until the next start stops it. A shell loop of about a megabyte watches opas
 * and sends the server a fast shutdown within a second of opas's death; opas ends the watch
 * itself whenever it stops or exits normally, so the loop never signals a reused pid.
 */
function watchOver(serverPid: number): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT "$2" 2>/dev/null',
      'opas-embedded-watchdog',
      String(process.pid),
      String(serverPid)
    ],
    // Its own process group: a Ctrl-C to opas's terminal must not end the watch.
    { detached: true, stdio: 'ignore' }
  )
  watchdog.on('error', () => {}) // no shell: the next start still stops a server left running
  watchdog.unref()
  return watchdog
}

/**
 * Starts a server on the cluster in `options.dir`, creating the cluster first when the directory
 * holds none. The caller owns the directory (its data-directory lock), so a server found running
 * on it was left by an earlier owner that died: it is stopped, and PostgreSQL's recovery makes
 * the cluster consistent.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const dir = resolve(options.dir)
  options = { ...options, dir }
  const user = serverUser(dir, options.runAs, options.log)
  // Without /proc, the server's user must be let in on the way to its folder.
  const blocked = !viaProc && user && blockedOnTheWay(dirname(dir), user)
  if (blocked) {
    throw new EmbeddedDatabaseError(
      `opas runs as root, and PostgreSQL refuses to, so the embedded database runs as ` +
        `${user.name}; ${user.name} may not enter ${blocked} on the way to ${dir}. Set DATA_DIR ` +
        `to a folder ${user.name} can reach, or run opas as an unprivileged user`
    )
  }
  if (user && options.durable) {
    options.log.info(
      { user: user.name },
      `opas runs as root, and PostgreSQL refuses to: the embedded database runs as ${user.name} (EMBEDDED_DATABASE_USER)`
    )
  }
  const binaries = postgresBinariesFor(user)
  if (!existsSync(join(dir, 'PG_VERSION'))) await initialise(dir, user, binaries, options)
  else if (user === undefined && statSync(dir).uid !== process.getuid?.()) {
    throw new EmbeddedDatabaseError(
      `the embedded database in ${dir} belongs to uid ${statSync(dir).uid}: run opas as that user`
    )
  }
  const left = Number(readPostmasterPid(dir)?.[0])
  if (isServerOf(left, dir)) {
    options.log.warn(
      { pid: left, dir },
      'stopping the embedded database an earlier opas left running'
    )
    await stopServerPid(left)
  }
  if (options.resetPassword || !requiresPassword(dir)) {
    options.log.info({ dir }, 'the embedded database now requires the password opas keeps')
    await securePassword(dir, user, binaries, options.password, options.abort)
  }
  const socket = socketPlace(dir, user)
  let launched: Awaited<ReturnType<typeof launch>>
  try {
    launched = await launch(options, user, binaries, socket)
  } catch (err) {
    socket.release()
    throw err
  }
  const { child, recent } = launched
  if (options.background) {
    child.unref()
    for (const stream of [child.stdout, child.stderr]) (stream as Socket | null)?.unref()
  }
  let stopping: Promise<void> | undefined
  const watchdog = watchOver(child.pid!)
  const onExit = () => {
    watchdog.kill()
    child.kill('SIGINT')
  }
  // opas exiting any way it still can (an uncaught error included) takes the server with it.
  process.on('exit', onExit)
  child.once('exit', (code, signal) => {
    process.off('exit', onExit)
    watchdog.kill()
    if (stopping === undefined) {
      options.onUnexpectedExit?.(signal ? `killed by ${signal}` : `exited with code ${code}`)
    }
  })
  return {
    connection: (database) => serverConnection(socket.client, options.password, database),
    pid: child.pid!,
    recentLog: () => [...recent],
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((done) => child.once('exit', done))
          void stopServerPid(child.pid!)
          await exited
        }
        socket.release()
      })())
  }
}
