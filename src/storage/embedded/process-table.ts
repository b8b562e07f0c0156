import { spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'

/** True while a process `pid` exists (EPERM from signal 0: it does, as another user's). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
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
