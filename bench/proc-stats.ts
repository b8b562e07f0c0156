import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

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

/** Resident set size in bytes (VmRSS); undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

export interface ProcessUsage {
  /** Largest VmRSS seen, sampled every 250 ms. */
  maxRssBytes: number | undefined
  cpuMs: number | undefined
}

/** Watches a server process over one measured run: its CPU time delta and its peak RSS. */
export class ProcessMonitor {
  private timer: NodeJS.Timeout | undefined
  private cpuStart: number | undefined
  private maxRss: number | undefined

  constructor(private readonly pid: number | undefined) {}

  private sample(): void {
    if (this.pid === undefined) return
    const rss = rssBytes(this.pid)
    if (rss !== undefined) this.maxRss = Math.max(this.maxRss ?? 0, rss)
  }

  start(): void {
    this.stop()
    this.maxRss = undefined
    this.cpuStart = this.pid === undefined ? undefined : cpuMs(this.pid)
    this.sample()
    this.timer = setInterval(() => this.sample(), 250)
  }

  stop(): ProcessUsage {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.sample()
    const end = this.pid === undefined ? undefined : cpuMs(this.pid)
    return {
      maxRssBytes: this.maxRss,
      cpuMs: end === undefined || this.cpuStart === undefined ? undefined : end - this.cpuStart
    }
  }
}
