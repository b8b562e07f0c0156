import { execFileSync, spawn } from 'node:child_process'
import { accessSync, chmodSync, constants, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { tempFolder } from './opas-process.js'
import { freePort } from './test-server.js'

/**
 * PgBouncer in transaction mode in front of the test PostgreSQL server, as large deployments run
 * it between many app processes and the database: a server connection belongs to a client only
 * for one transaction, so nothing a client leaves on a connection (a named prepared statement, a
 * session setting, a session lock) is there for its next transaction.
 */

/** Where the binary is: OPAS_TEST_PGBOUNCER, else on PATH, else Debian's /usr/sbin/pgbouncer. */
export function pgbouncerPath(): string | undefined {
  const candidates = process.env.OPAS_TEST_PGBOUNCER
    ? [process.env.OPAS_TEST_PGBOUNCER]
    : [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin'].map((dir) =>
        join(dir, 'pgbouncer')
      )
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** True from PgBouncer 1.21, which knows `max_prepared_statements`. */
function keepsPreparedStatements(binary: string): boolean {
  const version = /PgBouncer (\d+)\.(\d+)/.exec(
    execFileSync(binary, ['--version'], { encoding: 'utf8' })
  )
  if (!version) return false
  const [major, minor] = [Number(version[1]), Number(version[2])]
  return major > 1 || (major === 1 && minor >= 21)
}

export interface Pgbouncer {
  /** `databaseUrl` with PgBouncer's host and port instead of the server's. */
  url: string
  /** Everything it logged (stderr), for a failing test's message. */
  output: () => string
  stop(): Promise<void>
}

/** How long PgBouncer may take to accept a connection and reach the server through it. */
const READY_WITHIN_MS = 30_000

/**
 * Starts PgBouncer on a free loopback port in transaction mode with `poolSize` server connections
 * at most per database and user, in front of the server of `databaseUrl` (whose user and password
 * it uses to reach the server; clients are trusted). Resolves once a query goes through it.
 */
export async function startPgbouncer(
  binary: string,
  databaseUrl: string,
  poolSize: number
): Promise<Pgbouncer> {
  const server = new URL(databaseUrl)
  const user = decodeURIComponent(server.username || 'postgres')
  const password = decodeURIComponent(server.password)
  const port = await freePort()
  // PgBouncer refuses to run as root: then it drops to nobody (-u), who must read its files.
  const asRoot = process.getuid?.() === 0
  const dir = tempFolder('opas-pgbouncer-')
  if (asRoot) chmodSync(dir, 0o755)
  const quoted = (s: string) => `'${s.replace(/'/g, "''")}'`
  const target = [
    `host=${server.hostname.replace(/^\[|\]$/g, '')}`,
    `port=${server.port || '5432'}`,
    `user=${quoted(user)}`,
    ...(password ? [`password=${quoted(password)}`] : [])
  ].join(' ')
  writeFileSync(join(dir, 'users.txt'), `"${user.replace(/"/g, '""')}" ""\n`, { mode: 0o644 })
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = ${target}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      // From 1.21 PgBouncer can keep named statements itself (on by default from 1.22), which
      // would hide what this stands for: a transaction pooler that keeps none (1.18 has no key).
      ...(keepsPreparedStatements(binary) ? ['max_prepared_statements = 0'] : []),
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'logfile =',
      'pidfile =',
      'log_connections = 0',
      'log_disconnections = 0',
      // No ignore_startup_parameters: what opas sends on connecting must pass as it is.
      ''
    ].join('\n'),
    { mode: 0o644 }
  )
  const child = spawn(binary, [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let output = ''
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const spawnFailed = new Promise<Error>((resolve) => child.on('error', resolve))
  // A binary that could not be run never exits.
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => resolve())
    void spawnFailed.then(() => resolve())
  })

  const url = new URL(databaseUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }

  // Polled until a query goes through it (the port accepts, the server answers), or it exits.
  const deadline = Date.now() + READY_WITHIN_MS
  for (;;) {
    const failed = await Promise.race([spawnFailed, Promise.resolve(undefined)])
    if (failed || child.exitCode !== null) {
      await stop()
      throw new Error(`PgBouncer did not start (${failed?.message ?? 'it exited'}):\n${output}`)
    }
    const client = new pg.Client({ connectionString: url.href })
    const answered = await client
      .connect()
      .then(() => client.query('select 1'))
      .then(
        () => true,
        () => false
      )
    await client.end().catch(() => {})
    if (answered) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`PgBouncer did not answer within ${READY_WITHIN_MS} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url: url.href, output: () => output, stop }
}
