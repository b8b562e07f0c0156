import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * The one place opas asks the operating system about another process: whether it runs, since
 * when, as whom, where and what. Linux answers through /proc; elsewhere `ps` and signal 0 do.
 *
 * A pid alone names a process only while it runs: once it ends, the kernel may give the number
 * to a later process (once its counter wraps, or at once in a restarted container, whose pids
 * start again from 1). So a pid written down earlier (a lock's owner, a server's postmaster.pid)
 * is checked for more than being taken before anything is concluded from it or sent to it: see
 * {@link isSameProcess} and the embedded server's `isServerOf`. (The embedded server's watchdog, a shell loop that must outlive
 * opas, runs its own `kill -0`: see `watchOver`.)
 */

/** True while a process `pid` exists (EPERM from signal 0: it does, as another user's). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** True when this system has a process table to read (/proc, Linux). */
const procStats = existsSync('/proc/self/stat')

/**
 * A process's state and start time (fields 3 and 22 of /proc/<pid>/stat, the start in clock
 * ticks since boot); undefined off Linux or when the process is gone.
 */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0]!, start: fields[19]! }
  } catch {
    return undefined
  }
}

/**
 * When process `pid` started, in the kernel's clock (Linux); recorded beside a pid, it tells that
 * process from a later one given the same number ({@link isSameProcess}). Undefined elsewhere.
 */
export function processStart(pid: number): string | undefined {
  return procStat(pid)?.start
}

/**
 * True while `pid` is still the process that started at `start` ({@link processStart}, when it
 * was recorded): it runs, is not a zombie, and began then, not a later process given the same
 * pid. Without a process table to ask (not Linux), that the pid answers is all there is to go on.
 */
export function isSameProcess(pid: number, start: string | undefined): boolean {
  if (!isRunning(pid)) return false
  const stat = procStat(pid)
  // Gone since it answered (Linux), or no process table to ask (the pid answered: it runs).
  if (stat === undefined) return !procStats
  // A killed process stays a zombie until its parent reaps it: it no longer owns anything.
  if (stat.state === 'Z') return false
  return start === undefined || stat.start === start
}

/** The user a running process runs as (Linux: its /proc entry's owner); undefined if unknown. */
export function processUid(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}`).uid
  } catch {
    const ps = spawnSync('ps', ['-p', String(pid), '-o', 'uid='], { encoding: 'utf8' })
    const uid = Number(ps.stdout.trim())
    return ps.status === 0 && ps.stdout.trim() !== '' && Number.isInteger(uid) ? uid : undefined
  }
}

/** A running process's working folder, links resolved (Linux /proc); undefined when unknown. */
export function processFolder(pid: number): string | undefined {
  try {
    return realpathSync(`/proc/${pid}/cwd`)
  } catch {
    return undefined
  }
}

/** A running process's command line as `ps` shows it; undefined when it shows none. */
export function processCommand(pid: number): string | undefined {
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' })
  return ps.status === 0 ? ps.stdout : undefined
}

/** Resolves true once process `pid` has gone, false if it still runs after `ms`. */
export async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) {
    if (!isRunning(pid)) return true
  }
  return !isRunning(pid)
}
