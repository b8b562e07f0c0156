import { lstatSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import type { ServerConnection } from '../postgres-db.js'
import { isRunning, processCommand, processFolder, processUid } from './process-table.js'
import { attachedConnection, viaProc } from './server-access.js'

/*
 * What a running embedded server says of itself in its cluster's `postmaster.pid`, and whether
 * the process it names is really that server: how another opas process (the CLI beside a
 * running server, memory://'s sweep, the tests) finds it and stops only it.
 */

/** The status the server writes on line 8 of postmaster.pid once it accepts connections. */
export const READY = 'ready'

/** The lines of `postmaster.pid` (pid, directory, start, port, socket folder, …, status). */
export function readPostmasterPid(dir: string): string[] | undefined {
  try {
    return readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')
  } catch {
    return undefined
  }
}

/**
 * True when `pid` is a PostgreSQL server running on `dir`, not a process that reused its pid or
 * one a forged postmaster.pid names: it works in that folder, as the folder's owner. Anything
 * else is never signalled: a pid read from a file an earlier server left may name any process
 * by now (the kernel reuses the pids of processes that ended), and stopping it would stop that.
 */
export function isServerOf(pid: number, dir: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return false
  try {
    // A link is not a cluster folder: it could name any folder a victim works in.
    const folder = lstatSync(dir)
    if (!folder.isDirectory() || processUid(pid) !== folder.uid) return false
    if (viaProc) return processFolder(pid) === realpathSync(dir)
  } catch {
    return false
  }
  return processCommand(pid)?.includes('postgres') === true
}

/**
 * How to reach the server another process runs on `dir`: the socket folder its
 * `postmaster.pid` records, once that says it is ready; undefined when none runs there.
 */
export function readyServer(dir: string, password: string): ServerConnection | undefined {
  const lines = readPostmasterPid(dir)
  if (lines === undefined || lines[7]?.trim() !== READY) return undefined
  if (!isServerOf(Number(lines[0]), dir)) return undefined
  return attachedConnection(dir, lines[4]!.trim(), password)
}
