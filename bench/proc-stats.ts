import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (100 on Linux almost always). */
function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
}
const CLK_TCK = clockTicks()

/**
 * The process and its descendants (opas `--workers N` serves from child processes), found by
 * their parent pid in /proc.
 */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // the process ended while /proc was read
    }
  }
  const tree = [root]
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid)
  }
  return tree
}

/** Sums a per-process reading over the process tree; undefined when the root is gone. */
function overTree(root: number, read: (pid: number) => number | undefined): number | undefined {
  const own = read(root)
  if (own === undefined) return undefined
  return processTree(root)
    .slice(1)
    .reduce((sum, pid) => sum + (read(pid) ?? 0), own)
}

/** utime + stime of the process and its workers (all threads), in ms; undefined when gone. */
export function treeCpuMs(pid: number): number | undefined {
  return overTree(pid, cpuMs)
}

/** VmRSS of the process and its workers, in bytes; undefined when gone. */
export function treeRssBytes(pid: number): number | undefined {
  return overTree(pid, rssBytes)
}

/** utime + stime of the process (all its threads), in ms; undefined when it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of proc(5), counted from field 3 (state) here.
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? (ticks * 1000) / CLK_TCK : undefined
  } catch {
    return undefined
  }
}

/** A `Name:  N kB` line of a /proc file, in bytes; undefined when the process is gone. */
function kiloBytesLine(path: string, name: string): number | undefined {
  try {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(path, 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Resident set size in bytes (VmRSS); undefined when the process is gone. */
export const rssBytes = (pid: number) => kiloBytesLine(`/proc/${pid}/status`, 'VmRSS')

/**
 * Proportional set size in bytes (Pss of /proc/<pid>/smaps_rollup): resident pages, each shared
 * page divided among the processes sharing it, so a tree's sum counts shared memory once
 * (PostgreSQL's processes share its buffers and code). Undefined when gone or not Linux.
 */
export const pssBytes = (pid: number) => kiloBytesLine(`/proc/${pid}/smaps_rollup`, 'Pss')

/** Pss of the process and its children, in bytes; undefined when gone. */
export function treePssBytes(pid: number): number | undefined {
  return overTree(pid, pssBytes)
}

export interface ProcessUsage {
  /** Largest VmRSS seen, sampled every 250 ms. */
  maxRssBytes: number | undefined
  /** Largest Pss sum seen, sampled with the RSS. */
  maxPssBytes: number | undefined
  cpuMs: number | undefined
}

/** Watches a server process over one measured run: its CPU time delta and its peak RSS. */
export class ProcessMonitor {
  private timer: NodeJS.Timeout | undefined
  private cpuStart: number | undefined
  private maxRss: number | undefined
  private maxPss: number | undefined

  constructor(private readonly pid: number | undefined) {}

  private sample(): void {
    if (this.pid === undefined) return
    const rss = treeRssBytes(this.pid)
    if (rss !== undefined) this.maxRss = Math.max(this.maxRss ?? 0, rss)
    const pss = treePssBytes(this.pid)
    if (pss !== undefined) this.maxPss = Math.max(this.maxPss ?? 0, pss)
  }

  start(): void {
    this.stop()
    this.maxRss = undefined
    this.maxPss = undefined
    this.cpuStart = this.pid === undefined ? undefined : treeCpuMs(this.pid)
    this.sample()
    this.timer = setInterval(() => this.sample(), 250)
  }

  stop(): ProcessUsage {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.sample()
    const end = this.pid === undefined ? undefined : treeCpuMs(this.pid)
    return {
      maxRssBytes: this.maxRss,
      maxPssBytes: this.maxPss,
      cpuMs: end === undefined || this.cpuStart === undefined ? undefined : end - this.cpuStart
    }
  }
}
