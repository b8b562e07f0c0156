import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync
} from 'node:fs'
import type { Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { postgresBinaries } from './embedded-binaries.js'
import type { ServerConnection } from './postgres-db.js'
import { isRunning } from './process-table.js'

/**
 * A private PostgreSQL server for one data directory: initialised on first use, started as a
 * child of opas on a Unix socket only it and its user can open, stopped with opas. PostgreSQL's
 * own crash recovery makes a SIGKILL of either process safe; a server an earlier, killed opas
 * left running is found through its `postmaster.pid` and stopped before a new one starts.
 */

export interface ClusterLog {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

export interface ClusterOptions {
  /** The cluster's directory (PGDATA). Created, with its parent, when missing. */
  dir: string
  /** False for throwaway clusters (memory://): no fsync, no crash safety, faster. */
  durable: boolean
  /** Connections the server accepts (opas's pool plus the CLI and a margin). */
  maxConnections: number
  /** EMBEDDED_DATABASE_USER: the system user the server runs as when opas runs as root. */
  runAs?: string
  log: ClusterLog
  /** True: the server does not keep opas's process alive (memory://; the exit hook stops it). */
  background?: boolean
  /** Told when the server stops without being asked (killed, crashed). */
  onUnexpectedExit?: (reason: string) => void
}

export interface RunningCluster {
  /** How node-postgres reaches `database` (default `postgres`) on it, as its superuser. */
  connection(database?: string): ServerConnection
  readonly pid: number
  /** The server's last log lines, for error messages. */
  recentLog(): string[]
  /** Fast shutdown (SIGINT), escalating if it hangs; resolves once the server has exited. */
  stop(): Promise<void>
}

class EmbeddedDatabaseError extends Error {}

const PORT = 5432
/** The status the server writes on line 8 of postmaster.pid once it accepts connections. */
const READY = 'ready'
/** The superuser initdb creates; the socket's permissions, not a password, keep others out. */
const SUPERUSER = 'postgres'

/** The server whose socket is in the folder `host`, as the superuser, to `database`. */
const serverConnection = (host: string, port: number, database = 'postgres'): ServerConnection => ({
  host,
  port,
  user: SUPERUSER,
  database
})
/** Unix socket paths are limited to 104-108 bytes, depending on the system. */
const MAX_SOCKET_PATH = 100
const STOP_GRACE_MS = 30_000
const READY_TIMEOUT_MS = 10 * 60_000

interface OsUser {
  name: string
  uid: number
  gid: number
}

/** A system user by name or uid, from `id` (`uid=65534(nobody) gid=65534(nogroup) …`). */
function lookUpUser(nameOrUid: string): OsUser | undefined {
  const out = spawnSync('id', [nameOrUid], { encoding: 'utf8' })
  const found = out.status === 0 ? /uid=(\d+)(?:\(([^)]*)\))? gid=(\d+)/.exec(out.stdout) : null
  if (!found) return undefined
  return { name: found[2] ?? nameOrUid, uid: Number(found[1]), gid: Number(found[3]) }
}

/**
 * Who runs the server. PostgreSQL refuses to run as root (a server bug must not own the
 * machine), so root runs it as an existing unprivileged user, never one created on the fly: the
 * owner of an existing cluster, else EMBEDDED_DATABASE_USER, else `nobody`. Anyone else runs it
 * as themselves. Undefined: the current user.
 */
function serverUser(dir: string, runAs: string | undefined): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined
  const owner = existsSync(join(dir, 'PG_VERSION')) ? statSync(dir).uid : undefined
  if (owner !== undefined && owner !== 0 && runAs === undefined) {
    const existing = lookUpUser(String(owner))
    if (existing) return existing
  }
  const wanted = runAs ?? 'nobody'
  const user = lookUpUser(wanted)
  if (user === undefined) {
    throw new EmbeddedDatabaseError(
      `opas runs as root, and PostgreSQL refuses to, so the embedded database runs as ` +
        `EMBEDDED_DATABASE_USER (default nobody); the user ${wanted} does not exist here: ` +
        'set EMBEDDED_DATABASE_USER to an existing unprivileged user, or run opas as one'
    )
  }
  if (user.uid === 0) {
    throw new EmbeddedDatabaseError(
      `EMBEDDED_DATABASE_USER=${wanted} is root: PostgreSQL refuses to run as root; name an ` +
        'unprivileged user'
    )
  }
  if (owner !== undefined && owner !== user.uid) {
    throw new EmbeddedDatabaseError(
      `the embedded database in ${dir} belongs to uid ${owner}, not to ` +
        `EMBEDDED_DATABASE_USER=${wanted} (uid ${user.uid}): set EMBEDDED_DATABASE_USER to its ` +
        `owner, or give the directory to ${wanted} (chown -R)`
    )
  }
  return user
}

/** True when `user` may enter `path` (execute permission): its primary group only. */
function canEnter(path: string, user: OsUser): boolean {
  const st = statSync(path)
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0
  if (st.gid === user.gid) return (st.mode & 0o010) !== 0
  return (st.mode & 0o001) !== 0
}

/** The first folder on the way to `dir` that `user` may not enter, if any. */
function blockedOnTheWay(dir: string, user: OsUser): string | undefined {
  const steps: string[] = []
  for (let at = resolve(dir); ; at = dirname(at)) {
    steps.unshift(at)
    if (dirname(at) === at) break
  }
  return steps.find((step) => existsSync(step) && !canEnter(step, user))
}

/** A folder owned by `user` (or the current user), created when missing. */
function ownFolder(path: string, user: OsUser | undefined, mode: number): void {
  mkdirSync(path, { recursive: true, mode })
  if (user) chownSync(path, user.uid, user.gid)
}

/** Runs one of the server's programs as `user`, answering its output when it fails. */
function runAs(user: OsUser | undefined, program: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(program, args, {
      uid: user?.uid,
      gid: user?.gid,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    child.on('error', fail)
    child.on('close', (code) =>
      code === 0
        ? done()
        : fail(new EmbeddedDatabaseError(`${program} failed (exit ${code}): ${output.trim()}`))
    )
  })
}

/** The server's environment: the caller's, without libpq settings that would redirect it. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C' }
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PG')) env[name] = value
  }
  return env
}

/**
 * initdb into a scratch folder renamed into place once complete, so a start killed halfway
 * leaves no half-made cluster that later starts would take for a real one.
 */
async function initialise(dir: string, user: OsUser | undefined, durable: boolean): Promise<void> {
  const scratch = `${dir}.creating`
  rmSync(scratch, { recursive: true, force: true })
  ownFolder(dirname(dir), undefined, 0o755)
  ownFolder(scratch, user, 0o700)
  await runAs(user, postgresBinaries().initdb, [
    '--pgdata',
    scratch,
    '--username',
    SUPERUSER,
    // Only the owner reaches the socket (0700), so its connections need no password.
    '--auth',
    'trust',
    '--encoding',
    'UTF8',
    '--locale',
    'C',
    '--no-instructions',
    ...(durable ? [] : ['--no-sync'])
  ])
  renameSync(scratch, dir)
}

/** The lines of `postmaster.pid` (pid, directory, start, port, socket folder, …, status). */
export function readPostmasterPid(dir: string): string[] | undefined {
  try {
    return readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')
  } catch {
    return undefined
  }
}

/** True when `pid` is a PostgreSQL server running on `dir` (not a process that reused its pid). */
export function isServerOf(pid: number, dir: string): boolean {
  if (!isRunning(pid)) return false
  try {
    // Linux: the server works in its data directory.
    return realpathSync(`/proc/${pid}/cwd`) === realpathSync(dir)
  } catch {
    if (existsSync('/proc/self/cwd')) return false
  }
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' })
  return ps.status === 0 && ps.stdout.includes('postgres')
}

/**
 * How to reach the server another process runs on `dir`: the socket folder and port its
 * `postmaster.pid` records, once that says it is ready; undefined when none runs there.
 */
export function readyServer(dir: string): ServerConnection | undefined {
  const lines = readPostmasterPid(dir)
  if (lines === undefined || lines[7]?.trim() !== READY) return undefined
  if (!isServerOf(Number(lines[0]), dir)) return undefined
  return serverConnection(lines[4]!.trim(), Number(lines[3]))
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) {
    if (!isRunning(pid)) return true
  }
  return !isRunning(pid)
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

/**
 * The socket's folder: the cluster's own when the path fits a socket address, else a private
 * folder under the system's temporary folder named after the cluster (only its user may use it).
 */
function socketFolder(dir: string, user: OsUser | undefined): string {
  if (join(dir, `.s.PGSQL.${PORT}`).length <= MAX_SOCKET_PATH) return dir
  const id = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16)
  const folder = join(tmpdir(), `opas-pg-${id}`)
  ownFolder(folder, user, 0o700)
  const st = statSync(folder)
  if (st.uid !== (user?.uid ?? process.getuid?.()) || (st.mode & 0o077) !== 0) {
    throw new EmbeddedDatabaseError(
      `${folder}, the embedded database's socket folder, belongs to someone else or is open ` +
        'to others: remove it, or set DATA_DIR to a shorter path'
    )
  }
  return folder
}

/** The server's settings: small and quiet, since it serves one opas on one machine. */
function serverSettings(socketDir: string, options: ClusterOptions): Record<string, string> {
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

function forwardLog(child: ChildProcess, log: ClusterLog, recent: string[]): void {
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

async function waitReady(dir: string, child: ChildProcess, recent: string[]): Promise<void> {
  for (const end = Date.now() + READY_TIMEOUT_MS; Date.now() < end; await sleep(20)) {
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
  options: ClusterOptions,
  user: OsUser | undefined,
  socketDir: string
): Promise<{ child: ChildProcess; recent: string[] }> {
  const settings = serverSettings(socketDir, options)
  const args = [
    '-D',
    options.dir,
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])
  ]
  for (let attempt = 1; ; attempt++) {
    const recent: string[] = []
    const child = spawn(postgresBinaries().postgres, args, {
      uid: user?.uid,
      gid: user?.gid,
      env: serverEnv(),
      // Its own process group: a Ctrl-C in the terminal reaches opas, which drains its
      // requests and then stops the server, instead of the server quitting under them.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child.on('error', () => {}) // surfaces as an exit below
    forwardLog(child, options.log, recent)
    try {
      await waitReady(options.dir, child, recent)
      return { child, recent }
    } catch (err) {
      if (attempt < 50 && recent.some((line) => predecessorLeaving.test(line))) {
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
 * Starts the cluster in `options.dir`, creating it first when the directory holds none. The
 * caller owns the directory (its data-directory lock), so a server found running on it was left
 * by an earlier owner that died: it is stopped, and PostgreSQL's recovery makes it consistent.
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const dir = resolve(options.dir)
  options = { ...options, dir }
  const user = serverUser(dir, options.runAs)
  const blocked = user && blockedOnTheWay(dirname(dir), user)
  if (blocked) {
    throw new EmbeddedDatabaseError(
      `opas runs as root, and PostgreSQL refuses to, so the embedded database runs as ` +
        `${user.name}; ${user.name} may not enter ${blocked} on the way to ${dir}. Set DATA_DIR ` +
        `to a folder ${user.name} can reach, allow it in (chmod o+x ${blocked}), set ` +
        'EMBEDDED_DATABASE_USER to a user who can, or run opas as an unprivileged user'
    )
  }
  if (user && options.durable) {
    options.log.info(
      { user: user.name },
      `opas runs as root, and PostgreSQL refuses to: the embedded database runs as ${user.name} (EMBEDDED_DATABASE_USER)`
    )
  }
  if (!existsSync(join(dir, 'PG_VERSION'))) await initialise(dir, user, options.durable)
  else if (user === undefined && statSync(dir).uid !== process.getuid?.()) {
    throw new EmbeddedDatabaseError(
      `the embedded database in ${dir} belongs to uid ${statSync(dir).uid}: run opas as that user`
    )
  }
  const left = Number(readPostmasterPid(dir)?.[0])
  if (Number.isInteger(left) && left > 0 && isServerOf(left, dir)) {
    options.log.warn(
      { pid: left, dir },
      'stopping the embedded database an earlier opas left running'
    )
    await stopServerPid(left)
  }
  const socketDir = socketFolder(dir, user)
  const { child, recent } = await launch(options, user, socketDir)
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
    connection: (database) => serverConnection(socketDir, PORT, database),
    pid: child.pid!,
    recentLog: () => [...recent],
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((done) => child.once('exit', done))
        void stopServerPid(child.pid!)
        await exited
      })())
  }
}
