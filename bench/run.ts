// `npm run bench`: see bench/README.md. The CLI: options, signals, order of stages, cleanup.
import { execFileSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { startWalletAddressServer } from '../test/helpers/wallet-address-server.js'
import { compareWithFloor } from './floor-compare.js'
import { parseOptions, usage, UsageError, type Options } from './options.js'
import { formatFloors, formatReport, writeJson, type BenchReport } from './report.js'
import { runScenarios } from './runner.js'
import { Scenarios } from './scenarios.js'
import { prepareFloorTarget, prepareOpas, type Cleanup } from './subject.js'

let interrupted = false
const log = (line: string) => process.stderr.write(`${line}\n`)

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return undefined
  }
}

/** Why a --short run failed, if it did: a failed request, a skipped scenario, a run without requests. */
function shortFailures(report: BenchReport, options: Options): string[] {
  const failures = report.skipped.map((s) => `${s.scenario}: skipped: ${s.reason}`)
  for (const r of report.runs) {
    const failed = [...Object.values(r.errors), ...Object.values(r.setupErrors)].reduce(
      (n, e) => n + e.count,
      0
    )
    if (failed > 0) failures.push(`${r.scenario} c=${r.concurrency}: ${failed} failed`)
    if (r.requests === 0) failures.push(`${r.scenario} c=${r.concurrency}: no request completed`)
  }
  const expected = options.scenarios.length * options.concurrency.length
  if (report.runs.length < expected) {
    failures.push(`only ${report.runs.length} of ${expected} runs completed`)
  }
  return failures
}

async function bench(options: Options): Promise<number> {
  const cleanups: Cleanup[] = []
  const startedAt = new Date().toISOString()
  const load = loadavg()
  try {
    const wallets = await startWalletAddressServer()
    cleanups.push(() => wallets.close())
    const hooks = { log, interrupted: () => interrupted, cleanups }
    const subject =
      options.target === 'opas'
        ? await prepareOpas(options, hooks)
        : await prepareFloorTarget(options)
    const clients = Array.from({ length: options.clients }, (_, i) =>
      wallets.addClient(`client-${i}`, { authServer: subject.target.grantUrl })
    )
    const scenarios = new Scenarios({
      target: subject.target,
      clients,
      walletUrl: wallets.url,
      tokenPoolSize: options.tokenPool,
      prefilled: options.prefill
    })
    log(formatFloors(subject.floors))
    const { runs, skipped } = await runScenarios({
      options,
      subject,
      scenarios,
      interrupted: () => interrupted,
      log
    })
    const report: BenchReport = {
      meta: {
        startedAt,
        target: options.target,
        url: options.url,
        database: subject.database,
        commit: commit(),
        node: process.version,
        cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
        loadAverageAtStart: load,
        clients: options.clients,
        concurrency: options.concurrency,
        durationS: options.durationS,
        warmupS: options.warmupS,
        maxRequests: options.maxRequests,
        short: options.short,
        interrupted
      },
      floors: subject.floors,
      prefill: subject.prefill,
      startup: subject.startup,
      runs,
      skipped,
      serverWarnings: subject.warnings?.()
    }
    process.stdout.write(formatReport(report))
    if (options.json) writeJson(options.json, report)
    if (interrupted) return 130
    if (options.short) {
      const failures = shortFailures(report, options)
      if (failures.length > 0) {
        log(`bench --short FAILED (the server or the bench is broken):\n  ${failures.join('\n  ')}`)
        return 1
      }
    }
    return 0
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`))
    }
  }
}

async function main(): Promise<number> {
  let options: Options | undefined
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (!(err instanceof UsageError) && !String(code).startsWith('ERR_PARSE_ARGS')) throw err
    log(`bench: ${(err as Error).message}\n\n${usage}`)
    return 2
  }
  if (options === undefined) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const onSignal = () => {
    if (interrupted) process.exit(130) // a second signal: quit now (the exit hook kills opas)
    interrupted = true
    log('interrupted: ending the current run and cleaning up (again to quit at once)')
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return options.floor ? compareWithFloor(options, log, () => interrupted) : bench(options)
}

// Exit explicitly: a keep-alive socket or timer left by a failure must not keep the process up.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    process.exit(1)
  }
)
