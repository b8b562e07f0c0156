// `npm run bench -- --floor`: opas and the floor server side by side, in alternating rounds.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBenchDatabase } from './database.js'
import { freePort } from './opas-process.js'
import type { Options } from './options.js'
import { startReadyChild } from './ready-child.js'
import { table, type BenchReport, type RunResult } from './report.js'
import { median } from './stats.js'

const PROJECT = fileURLToPath(new URL('..', import.meta.url))
const RUN = fileURLToPath(new URL('./run.ts', import.meta.url))

/** The goal of issue 29, which the table is read against. */
export const FLOOR_GOAL = { ratio: 0.9, p99Ratio: 1.2, rssBytes: 150 * 1024 * 1024 }

/** One scenario's figures over the rounds: medians of req/s and p99, the highest RSS. */
export interface FloorComparison {
  scenario: string
  opas: { reqPerSec: number[]; p99Ms: number[]; maxRssBytes: number | undefined }
  floor: { reqPerSec: number[]; p99Ms: number[]; maxRssBytes: number | undefined }
  ratio: number
  p99Ratio: number
}

type Log = (line: string) => void

/**
 * The floor server runs from a temporary folder holding links to it and to the project's
 * node_modules (for `pg`), with the links kept as the module's path: nothing of it is copied
 * into the project, and it needs no `npm install` of its own.
 */
async function startFloorServer(target: string, dbUrl: string, log: Log) {
  const dir = mkdtempSync(join(tmpdir(), 'opas-bench-floor-server-'))
  symlinkSync(target, join(dir, 'floor-server.mjs'))
  symlinkSync(join(PROJECT, 'node_modules'), join(dir, 'node_modules'))
  const port = await freePort()
  const script = join(dir, 'floor-server.mjs')
  const args = ['--preserve-symlinks', '--preserve-symlinks-main', script, '--port', String(port)]
  const server = await startReadyChild(process.execPath, [...args, '--db', dbUrl], {
    stream: 'stderr',
    ready: /floor server on/,
    timeoutMs: 30_000,
    cwd: dir
  }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true })
    throw err
  })
  log(`floor server: ${target} on port ${port} (pid ${server.pid})`)
  return {
    url: `http://127.0.0.1:${port}`,
    pid: server.pid,
    async stop() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** One `bench/run.ts` in a process of its own (as `npm run bench` runs it), its JSON report. */
async function benchRun(args: string[], json: string, log: Log): Promise<BenchReport> {
  const child = spawn(process.execPath, [...process.execArgv, RUN, ...args, '--json', json], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) {
    throw new Error(`a bench run failed (exit ${code}): ${args.join(' ')}\n${stderr.trim()}`)
  }
  const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport
  for (const run of report.runs) {
    const failed = Object.values(run.errors).reduce((n, e) => n + e.count, 0)
    if (failed > 0) log(`  ${run.scenario}: ${failed} requests failed (counted out of req/s)`)
  }
  return report
}

/** The options a round passes on to each bench run. */
function runArgs(options: Options): string[] {
  return [
    '--scenario',
    options.scenarios.join(','),
    '--concurrency',
    options.concurrency.join(','),
    '--duration',
    String(options.durationS),
    '--warmup',
    String(options.warmupS),
    '--max-requests',
    String(options.maxRequests),
    '--clients',
    String(options.clients)
  ]
}

export function compareRounds(
  opas: BenchReport[],
  floor: BenchReport[],
  scenarios: readonly string[]
): FloorComparison[] {
  const of = (reports: BenchReport[], scenario: string) => {
    const runs = reports.flatMap((r) => r.runs.filter((run) => run.scenario === scenario))
    const rss = runs.map((r) => r.serverMaxRssBytes).filter((b): b is number => b !== undefined)
    return {
      reqPerSec: runs.map((r: RunResult) => r.reqPerSec),
      p99Ms: runs.map((r: RunResult) => r.latencyMs.p99),
      maxRssBytes: rss.length ? Math.max(...rss) : undefined
    }
  }
  return scenarios.map((scenario) => {
    const o = of(opas, scenario)
    const f = of(floor, scenario)
    return {
      scenario,
      opas: o,
      floor: f,
      ratio: median(o.reqPerSec) / median(f.reqPerSec),
      p99Ratio: median(o.p99Ms) / median(f.p99Ms)
    }
  })
}

export function formatComparison(rows: FloorComparison[]): string {
  const mib = (b: number | undefined) => (b === undefined ? '-' : (b / 1048576).toFixed(0))
  const body = rows.map((r) => {
    const rssMet = r.opas.maxRssBytes !== undefined && r.opas.maxRssBytes <= FLOOR_GOAL.rssBytes
    const unmet = [
      r.ratio < FLOOR_GOAL.ratio && 'ratio',
      r.p99Ratio > FLOOR_GOAL.p99Ratio && 'p99',
      !rssMet && 'RSS'
    ].filter((what): what is string => what !== false)
    return [
      r.scenario,
      Math.round(median(r.opas.reqPerSec)).toString(),
      Math.round(median(r.floor.reqPerSec)).toString(),
      r.ratio.toFixed(2),
      median(r.opas.p99Ms).toFixed(1),
      median(r.floor.p99Ms).toFixed(1),
      r.p99Ratio.toFixed(2),
      mib(r.opas.maxRssBytes),
      mib(r.floor.maxRssBytes),
      unmet.length ? unmet.map((what) => `${what} NOT met`).join(', ') : 'met'
    ]
  })
  const perRound = rows.map(
    (r) =>
      `  ${r.scenario}: opas ${r.opas.reqPerSec.map((v) => Math.round(v)).join(' / ')}, ` +
      `floor ${r.floor.reqPerSec.map((v) => Math.round(v)).join(' / ')} req/s`
  )
  return [
    table(
      [
        'scenario',
        'opas req/s',
        'floor req/s',
        'opas/floor',
        'p99 opas',
        'p99 floor',
        'p99 ratio',
        'opas RSS MiB',
        'floor RSS MiB',
        'goal'
      ],
      body
    ),
    '',
    'each round, in order:',
    ...perRound,
    '',
    `req/s and p99 (ms) are medians of the rounds, RSS the highest of any round (the server`,
    `process alone: PostgreSQL is outside both). The goal: opas/floor >= ${FLOOR_GOAL.ratio},`,
    `p99 <= ${FLOOR_GOAL.p99Ratio} x the floor's, opas RSS <= ${FLOOR_GOAL.rssBytes / 1048576} MiB.`
  ].join('\n')
}

/**
 * `--floor`: for each round, a bench run against opas, then one against the floor server (on a
 * database of its own on the same PostgreSQL, created for the round and dropped after), each in
 * a process of its own; then the ratios of the medians. Alternating the two in rounds spreads
 * the machine's drift over both.
 */
export async function compareWithFloor(
  options: Options,
  log: Log,
  interrupted: () => boolean
): Promise<number> {
  const baseUrl = (process.env.AUTH_DATABASE_URL || process.env.DATABASE_URL)!
  const script = options.floorServer!
  const work = mkdtempSync(join(tmpdir(), 'opas-bench-floor-compare-'))
  const opas: BenchReport[] = []
  const floor: BenchReport[] = []
  try {
    for (let round = 1; round <= options.rounds; round++) {
      // Ctrl-C reaches the runs too (one process group): they end and clean up; so does this.
      if (interrupted()) return 130
      log(`round ${round} of ${options.rounds}: opas`)
      opas.push(await benchRun(runArgs(options), join(work, `opas-${round}.json`), log))
      log(`round ${round} of ${options.rounds}: floor server`)
      const db = await createBenchDatabase(baseUrl, 'floor')
      try {
        const server = await startFloorServer(script, db.url!, log)
        try {
          const args = ['--target', 'floor', '--url', server.url, '--pid', String(server.pid)]
          args.push('--db', db.url!)
          floor.push(
            await benchRun([...runArgs(options), ...args], join(work, `floor-${round}.json`), log)
          )
        } finally {
          await server.stop()
        }
      } finally {
        await db.dispose(false)
      }
    }
  } catch (err) {
    // A run that failed has said why on its own stderr, which its message carries.
    log(`bench --floor: ${interrupted() ? 'interrupted' : (err as Error).message}`)
    return interrupted() ? 130 : 1
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  const rows = compareRounds(opas, floor, options.scenarios)
  // The server, not the first round's database (each run had its own).
  const database = String(opas[0]?.meta.database ?? 'PostgreSQL').replace(/, database .*/, '')
  process.stdout.write(
    `opas and the floor server on ${database}, ${options.concurrency.join(',')} ` +
      `clients, ${options.rounds} alternating rounds of ${options.durationS} s per scenario\n\n` +
      `${formatComparison(rows)}\n`
  )
  if (options.json) {
    writeFileSync(options.json, JSON.stringify({ opas, floor, comparison: rows }, null, 2))
  }
  return 0
}

/** The floor server beside the checkout (../shared/bench), if there. */
export function defaultFloorServer(): string | undefined {
  const path = join(PROJECT, '..', 'shared', 'bench', 'floor-server.mjs')
  return existsSync(path) ? path : undefined
}
