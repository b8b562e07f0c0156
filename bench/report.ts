import { writeFileSync } from 'node:fs'
import { ed25519Backend } from '../src/http-signatures/ed25519.js'
import type { Floors } from './floors.js'
import type { PrefillResult } from './prefill.js'
import type { Skipped } from './runner.js'
import type { LatencySummary } from './stats.js'

export interface RunResult {
  scenario: string
  concurrency: number
  /** Measured requests, failed ones included. */
  requests: number
  seconds: number
  /** Successful requests per second (a failing server answers fast: its errors do not count). */
  reqPerSec: number
  latencyMs: LatencySummary
  /** Measured requests that failed: non-2xx, network errors, unexpected 2xx answers. */
  errors: Record<string, { count: number; sample: string }>
  /** Failures outside the measured requests (setup, warm-up). */
  setupErrors: Record<string, { count: number; sample: string }>
  /** The server process and its children: an embedded database's processes included. */
  serverMaxRssBytes: number | undefined
  serverMaxPssBytes?: number | undefined
  serverCpuMsPerRequest: number | undefined
  /** CPU of the benchmark process (the load generator) per request. */
  benchCpuMsPerRequest: number | undefined
  dbSizeBytes: number | undefined
  /** req/s over the floor that bounds this scenario (see floorFor); undefined when none does. */
  ofFloor: number | undefined
}

/** opas's start and its memory at rest once started (see Subject.startup). */
export interface Startup {
  ms: number
  firstStart: boolean
  idleRssBytes: number | undefined
  idlePssBytes: number | undefined
}

export interface BenchReport {
  meta: Record<string, unknown>
  floors: Floors | undefined
  prefill: PrefillResult | undefined
  startup?: Startup | undefined
  runs: RunResult[]
  /** Scenarios whose preparation failed (e.g. the token pool could not be issued). */
  skipped: Skipped[]
  serverWarnings: { count: number; last: string | undefined } | undefined
}

/**
 * What bounds a scenario whose every request verifies one signature and commits one write
 * (grant, rotate, continue-poll): the lower of the Ed25519 floor and the INSERT floor at the
 * closest client count not above the run's concurrency. Introspection and mixed have none here.
 */
export function floorFor(
  scenario: string,
  concurrency: number,
  floors: Floors | undefined
): number | undefined {
  if (!floors || !['grant', 'rotate', 'continue-poll'].includes(scenario)) return undefined
  const insert = floors.insertTxPerSec
    .filter((f) => f.clients <= concurrency)
    .sort((a, b) => b.clients - a.clients)[0]
  return Math.min(floors.ed25519VerifyPerSec, insert?.perSec ?? Infinity)
}

const num = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits)
const mib = (bytes: number | undefined) =>
  bytes === undefined || !Number.isFinite(bytes) ? '-' : (bytes / 1048576).toFixed(1)
const int = (v: number) => Math.round(v).toLocaleString('en-US')

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function formatFloors(floors: Floors): string {
  const inserts =
    floors.insertTxPerSec
      .map((f) => `${int(f.perSec)}/s at ${f.clients} client${f.clients === 1 ? '' : 's'}`)
      .join(', ') || 'not measured'

  return [
    'Floors (same machine, same run):',
    `  Ed25519 verifications, ${ed25519Backend} (as opas verifies), one core: ${int(floors.ed25519VerifyPerSec)}/s`,
    `  single-row INSERT transactions on ${floors.insertDatabase}: ${inserts}`
  ].join('\n')
}

export function formatRuns(runs: RunResult[]): string {
  const rows = runs.map((r) => [
    r.scenario,
    String(r.concurrency),
    num(r.reqPerSec),
    num(r.latencyMs.p50, 2),
    num(r.latencyMs.p90, 2),
    num(r.latencyMs.p99, 2),
    num(r.latencyMs.max, 1),
    String(Object.values(r.errors).reduce((n, e) => n + e.count, 0)),
    mib(r.serverMaxRssBytes),
    mib(r.serverMaxPssBytes),
    num(r.serverCpuMsPerRequest, 3),
    mib(r.dbSizeBytes),
    r.ofFloor === undefined ? '-' : `${(r.ofFloor * 100).toFixed(0)}%`
  ])
  const header = [
    'scenario',
    'conc',
    'req/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'errors',
    'RSS MiB',
    'PSS MiB',
    'CPU ms/req',
    'DB MiB',
    'of floor'
  ]
  return table(header, rows)
}

export function formatProblems(runs: RunResult[], skipped: Skipped[]): string {
  const lines = skipped.map((s) => `  ${s.scenario} skipped: ${s.reason}`)
  for (const r of runs) {
    for (const [kind, tally] of [
      ['error', r.errors],
      ['setup/warm-up problem', r.setupErrors]
    ] as const) {
      for (const [label, { count, sample }] of Object.entries(tally)) {
        lines.push(`  ${r.scenario} c=${r.concurrency} ${kind} ${label} x${count}: ${sample}`)
      }
    }
  }
  return lines.length ? `Problems (one sample body each):\n${lines.join('\n')}` : ''
}

export const TABLE_NOTES = [
  'req/s counts the successful measured requests; latencies are those of every measured request,',
  'failures included, in a closed loop (each worker sends its next request when the last one is',
  'answered). RSS is the peak sum of VmRSS over the server process and its children (an embedded',
  "database's processes included; shared memory counts once per process that touches it), PSS the",
  'peak sum of their proportional set sizes (shared memory counted once), both sampled every',
  '250 ms; CPU ms/req is their utime+stime over the run / requests (an external PostgreSQL',
  'is not counted). DB MiB is pg_database_size, or the bytes of the embedded data directory',
  '(whole cluster and WAL), after the run. "of floor" is req/s over the lower of',
  'the Ed25519 and INSERT floors (grant, rotate and continue-poll each verify one signature and',
  'commit one write).'
].join('\n')

/** The whole report as printed on stdout. */
export function formatReport(report: BenchReport): string {
  const { meta } = report
  const load = (meta.loadAverageAtStart as number[]).map((l) => l.toFixed(2)).join(' ')
  const target = meta.target === 'floor' ? `floor server ${String(meta.url)}` : 'opas'
  const warnings = report.serverWarnings
  const sections = [
    `opas bench: ${target}; database ${String(meta.database)}; ${String(meta.clients)} clients; ` +
      `commit ${String(meta.commit ?? '?')}; ${String(meta.cpus)}; load average at start ${load}` +
      (meta.interrupted ? '; INTERRUPTED' : ''),
    report.prefill
      ? `prefilled: ${report.prefill.grants} grants, ${report.prefill.accesses} access rows, ` +
        `${report.prefill.tokens} tokens, ${report.prefill.interactions} interactions`
      : 'no prefill',
    report.floors ? formatFloors(report.floors) : '',
    report.startup
      ? `opas start: ${(report.startup.ms / 1000).toFixed(2)} s to healthy` +
        (report.startup.firstStart ? ' (first start: the embedded database was created)' : '') +
        `; idle, opas and its child processes (an embedded database's included): ` +
        `RSS ${mib(report.startup.idleRssBytes)} MiB, PSS ${mib(report.startup.idlePssBytes)} MiB`
      : '',
    formatRuns(report.runs),
    TABLE_NOTES,
    formatProblems(report.runs, report.skipped),
    warnings?.count
      ? `opas logged ${warnings.count} warning/error lines; the last: ${warnings.last}`
      : ''
  ]
  return `\n${sections.filter((s) => s !== '').join('\n\n')}\n`
}

export function writeJson(path: string, report: BenchReport): void {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`)
}
