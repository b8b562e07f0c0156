import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { PostgresBinaries } from './postgres-binaries.js'
import { EmbeddedDatabaseError, type OsUser } from './server-user.js'
import type { ServerConnection } from '../postgres-db.js'
import { writePrivateFile } from '../private-files.js'

/**
 * How opas and its embedded server reach each other, and how the server knows it is opas.
 *
 * - The folder: on Linux the server is started in its data directory (by root, before it
 *   becomes its own user) and told `/proc/self/cwd`, so no folder above the data directory has
 *   to let its user in: a checkout in root's home (0700) works, and DATA_DIR stays closed to
 *   every other user.
 * - The socket: in that folder, reached by opas through a handle it holds on the folder
 *   (`/proc/self/fd/N`), so its path is short however deep DATA_DIR is, and nothing is put in a
 *   shared temporary folder. Elsewhere: the data directory, or a new private folder when its path
 *   is too long for a socket.
 * - The password: the superuser authenticates with SCRAM (pg_hba.conf below), with a password
 *   opas generates and keeps where only its own user may read it, so the socket's permissions
 *   are not the only lock.
 */

export const SUPERUSER = 'postgres'
export const PORT = 5432
/** Linux's /proc: a folder by its handle, and a process's own working directory. */
export const viaProc = existsSync('/proc/self/fd')
/** Unix socket paths are limited to 104-108 bytes, depending on the system. */
const MAX_SOCKET_PATH = 100

/** The data directory as the server's command line names it. */
export const serverDataDir = (dir: string): string => (viaProc ? '/proc/self/cwd' : dir)

export interface SocketPlace {
  /** The server's `unix_socket_directories`. */
  server: string
  /** Where opas connects. */
  client: string
  /** Drops the handle or the folder once the server has stopped. */
  release(): void
}

/** Where the server of the cluster in `dir` puts its socket, and how opas reaches it. */
export function socketPlace(dir: string, user: OsUser | undefined): SocketPlace {
  if (viaProc) {
    return { server: '/proc/self/cwd', client: folderHandle(dir), release: () => dropHandle(dir) }
  }
  if (join(dir, `.s.PGSQL.${PORT}`).length <= MAX_SOCKET_PATH) {
    return { server: dir, client: dir, release() {} }
  }
  // A new folder (mkdtemp: a name no one could have prepared, mode 0700), given to the server.
  const folder = mkdtempSync(join(tmpdir(), 'opas-pg-'))
  if (user) chownSync(folder, user.uid, user.gid)
  return {
    server: folder,
    client: folder,
    release: () => rmSync(folder, { recursive: true, force: true })
  }
}

/**
 * The handles opas holds on cluster folders, one per folder: kept while the server restarts (the
 * pool keeps the path it was given), dropped when opas stops the server.
 */
const handles = new Map<string, number>()

function folderHandle(dir: string): string {
  if (!handles.has(dir)) handles.set(dir, openSync(dir, 'r'))
  return `/proc/self/fd/${handles.get(dir)}`
}

function dropHandle(dir: string): void {
  const fd = handles.get(dir)
  handles.delete(dir)
  if (fd !== undefined) closeSync(fd)
}

/** How to reach a server another opas runs on `dir`, whose postmaster.pid names `socketFolder`. */
export function attachedConnection(
  dir: string,
  socketFolder: string,
  password: string
): ServerConnection {
  const host = socketFolder === '/proc/self/cwd' ? folderHandle(dir) : socketFolder
  return serverConnection(host, password)
}

export const serverConnection = (
  host: string,
  password: string,
  database = 'postgres'
): ServerConnection => ({ host, port: PORT, user: SUPERUSER, password, database })

/** The server's access rules: opas's own connections, by password, and nothing else. */
const ACCESS_RULES =
  '# Written by opas: only its own connections, on the Unix socket, with the password it keeps\n' +
  '# where only its user may read it (SCRAM, RFC 7677). Rewritten at every start.\n' +
  `local all ${SUPERUSER} scram-sha-256\n`

const accessRulesFile = (dir: string) => join(dir, 'pg_hba.conf')

/** True when the cluster already requires opas's password and nothing else gets in. */
export function requiresPassword(dir: string): boolean {
  try {
    return readFileSync(accessRulesFile(dir), 'utf8') === ACCESS_RULES
  } catch {
    return false
  }
}

/** Writes the access rules into the cluster (before its server starts, which reads them). */
export function writeAccessRules(dir: string, user: OsUser | undefined): void {
  writePrivateFile(accessRulesFile(dir), ACCESS_RULES, user)
}

/** The server's environment: the caller's, without libpq settings that would redirect it. */
export function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C' }
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PG')) env[name] = value
  }
  return env
}

/**
 * Runs one of the server's programs as `user`, in the cluster's folder (entered before it becomes
 * `user`: see serverDataDir), with `input` on its standard input; rejects with its output when it
 * fails, or at once when it cannot be started at all. The input (a password) goes through a file
 * in the private folder above the cluster, open only to `user` and unlinked before the program
 * runs: initdb reads its password file by name (/dev/stdin), which a socket would not serve.
 *
 * It runs in a process group of its own, which an `abort` (Ctrl-C during a first start) or opas
 * exiting stops whole: initdb runs the server in single-user mode under a shell, and neither
 * would otherwise outlive it for long, writing on in a folder the next start clears. An aborted
 * run rejects with the signal's reason once the group has exited.
 */
export async function runProgram(
  user: OsUser | undefined,
  program: string,
  args: string[],
  options: { cwd: string; input: string; abort?: AbortSignal }
): Promise<void> {
  const { abort } = options
  abort?.throwIfAborted()
  const inputFile = join(dirname(options.cwd), `.input-${randomBytes(6).toString('hex')}`)
  writePrivateFile(inputFile, options.input, user)
  const stdin = openSync(inputFile, 'r')
  unlinkSync(inputFile)
  try {
    await new Promise<void>((done, fail) => {
      const child = spawn(program, args, {
        uid: user?.uid,
        gid: user?.gid,
        cwd: options.cwd,
        env: serverEnv(),
        detached: true,
        stdio: [stdin, 'pipe', 'pipe']
      })
      const stopGroup = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
        } catch {
          // already gone
        }
      }
      abort?.addEventListener('abort', stopGroup, { once: true })
      process.on('exit', stopGroup)
      let output = ''
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
      child.on('error', (err) =>
        fail(new EmbeddedDatabaseError(`${program} could not be started: ${err.message}`))
      )
      child.on('close', (code) => {
        abort?.removeEventListener('abort', stopGroup)
        process.off('exit', stopGroup)
        if (abort?.aborted) fail(abort.reason)
        else if (code === 0) done()
        else fail(new EmbeddedDatabaseError(`${program} failed (exit ${code}): ${output.trim()}`))
      })
    })
  } finally {
    closeSync(stdin)
  }
}

/**
 * Sets the superuser's password and then the access rules, in a cluster whose server is not
 * running: a cluster an earlier version made (it let the socket's owner in without one), or one
 * whose password file was lost. The single-user server needs no connection, so there is never a
 * moment when the socket lets anyone in without the password.
 */
export async function securePassword(
  dir: string,
  user: OsUser | undefined,
  binaries: PostgresBinaries,
  password: string,
  abort?: AbortSignal
): Promise<void> {
  // The password is base64url: nothing in it needs quoting.
  await runProgram(
    user,
    binaries.postgres,
    ['--single', '-D', serverDataDir(dir), '-c', 'log_min_messages=fatal', SUPERUSER],
    { cwd: dir, input: `ALTER ROLE ${SUPERUSER} PASSWORD '${password}';\n`, abort }
  )
  writeAccessRules(dir, user)
}
