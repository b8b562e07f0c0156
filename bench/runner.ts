import { Http } from './http.js'
import { runLoad, RunContext, warmUp, type LoadResult } from './load.js'
import type { Options } from './options.js'
import { ProcessMonitor, type ProcessUsage } from './proc-stats.js'
import { floorFor, type RunResult } from './report.js'
import { TOKEN_USABLE_MS, type ScenarioName, type Scenarios } from './scenarios.js'
import { ErrorTally } from './stats.js'
import type { Subject } from './subject.js'

export interface Skipped {
  scenario: string
  reason: string
}

interface Runner {
  options: Options
  subject: Subject
  scenarios: Scenarios
  interrupted: () => boolean
  log: (line: string) => void
}

const SETUP_CONNECTIONS = 16

/**
 * Issues the introspection token pool when `name` needs one that outlives `ms`. False (and the
 * reason in `skipped`) when it could not be issued.
 */
async function ensureTokens(
  r: Runner,
  name: ScenarioName,
  ms: number,
  errors: ErrorTally,
  skipped: Skipped[]
): Promise<boolean> {
  if (!r.scenarios.needsTokens(name, ms)) return true
  if (ms > TOKEN_USABLE_MS) {
    r.log(`${name}: runs this long outlive the introspection tokens (600 s); expect inactive ones`)
  }
  const http = new Http(SETUP_CONNECTIONS)
  try {
    await r.scenarios.issueTokens(http, errors)
    return true
  } catch (err) {
    // One broken scenario must not hide the results of the others.
    const samples = [...errors.byLabel].map(([l, e]) => `${l} x${e.count}: ${e.sample}`)
    skipped.push({ scenario: name, reason: [(err as Error).message, ...samples].join('; ') })
    r.log(`${name}: skipped: ${(err as Error).message}`)
    return false
  } finally {
    await http.close()
  }
}

/**
 * The first requests of a code path run cold (V8 has not compiled it yet) and would penalise
 * whichever run comes first: 16 workers exercise the scenario once, unmeasured.
 */
async function warmScenario(r: Runner, name: ScenarioName, errors: ErrorTally): Promise<void> {
  const http = new Http(SETUP_CONNECTIONS)
  try {
    const workers = r.scenarios.workers(name, SETUP_CONNECTIONS, new RunContext(http, errors))
    await warmUp(
      http,
      workers,
      {
        warmupMs: r.options.warmupS * 1000,
        maxRequests: r.options.maxRequests,
        interrupted: r.interrupted
      },
      errors
    )
  } finally {
    await http.close()
  }
}

/** One measured run; `setupErrors` arrives holding the problems of the stages before it. */
async function measure(
  r: Runner,
  name: ScenarioName,
  concurrency: number,
  setupErrors: ErrorTally
): Promise<RunResult> {
  const { options, subject } = r
  const http = new Http(concurrency)
  const monitor = new ProcessMonitor(subject.pid)
  let usage: ProcessUsage = { maxRssBytes: undefined, maxPssBytes: undefined, cpuMs: undefined }
  // The load generator's own CPU (this process: signing, HTTP), to show it stays light.
  let benchCpu = process.cpuUsage()
  let result: LoadResult
  try {
    result = await runLoad(
      http,
      r.scenarios.workers(name, concurrency, new RunContext(http, setupErrors)),
      {
        concurrency,
        durationMs: options.durationS * 1000,
        warmupMs: options.warmupS * 1000,
        maxRequests: options.maxRequests,
        interrupted: r.interrupted
      },
      setupErrors,
      {
        start: () => {
          monitor.start()
          benchCpu = process.cpuUsage()
        },
        end: () => {
          benchCpu = process.cpuUsage(benchCpu)
          usage = monitor.stop()
        }
      }
    )
  } finally {
    monitor.stop()
    await http.close()
  }
  const { requests } = result
  const reqPerSec = (requests - result.errors.total) / (result.elapsedMs / 1000)
  const floor = floorFor(name, concurrency, subject.floors)
  return {
    scenario: name,
    concurrency,
    requests,
    seconds: result.elapsedMs / 1000,
    reqPerSec,
    latencyMs: result.latency,
    errors: result.errors.toJSON(),
    setupErrors: setupErrors.toJSON(),
    serverMaxRssBytes: usage.maxRssBytes,
    serverMaxPssBytes: usage.maxPssBytes,
    serverCpuMsPerRequest:
      usage.cpuMs === undefined || requests === 0 ? undefined : usage.cpuMs / requests,
    benchCpuMsPerRequest:
      requests === 0 ? undefined : (benchCpu.user + benchCpu.system) / 1000 / requests,
    dbSizeBytes: await subject.dbSize(),
    ofFloor: floor === undefined ? undefined : reqPerSec / floor
  }
}

/** Every scenario at every concurrency, in order; stops early when interrupted. */
export async function runScenarios(r: Runner): Promise<{ runs: RunResult[]; skipped: Skipped[] }> {
  const { options } = r
  const runs: RunResult[] = []
  const skipped: Skipped[] = []
  const runMs = (options.warmupS + options.durationS) * 1000
  for (const name of options.scenarios) {
    if (r.interrupted()) break
    // Problems before a run (token pool, warm-ups) are reported with it.
    let carried = new ErrorTally()
    if (!(await ensureTokens(r, name, options.warmupS * 1000 + runMs, carried, skipped))) continue
    await warmScenario(r, name, carried)
    for (const concurrency of options.concurrency) {
      if (r.interrupted()) break
      try {
        r.subject.check()
      } catch (err) {
        // The server died: report what was measured, and why the rest was not.
        skipped.push({ scenario: name, reason: (err as Error).message })
        r.log((err as Error).message)
        return { runs, skipped }
      }
      if (!(await ensureTokens(r, name, runMs, carried, skipped))) break
      const run = await measure(r, name, concurrency, carried)
      carried = new ErrorTally()
      runs.push(run)
      const errors = Object.values(run.errors).reduce((n, e) => n + e.count, 0)
      r.log(
        `${name} c=${concurrency}: ${run.reqPerSec.toFixed(1)} req/s, ` +
          `p50 ${run.latencyMs.p50.toFixed(2)} ms, p99 ${run.latencyMs.p99.toFixed(2)} ms, ` +
          `${errors} errors, load generator ${(run.benchCpuMsPerRequest ?? 0).toFixed(3)} ms CPU/req`
      )
    }
  }
  return { runs, skipped }
}
