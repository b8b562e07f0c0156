// Crash safety of opas: `npx tsx scripts/crash-test.ts --help` (run `npm run build` first).
// Drives grant, rotation and interactive-grant load, SIGKILLs opas at random moments and restarts
// it on the same PostgreSQL database or embedded data directory, then checks the ledger of every
// request against the introspection API and the database. The checks and the definition of an
// ambiguous request (sent, no answer) are in scripts/crash/verify.ts; what a run must show
// besides (an acknowledged change checked, a kill with requests in flight, no 5xx, no error
// logged) is in scripts/crash/minimums.ts.
import { parseOptions, usage, UsageError, type CrashOptions } from './crash/options.js'
import { runPhase, type PhaseResult } from './crash/phase.js'
import { failed, formatPhase, formatSummary } from './crash/report.js'

const log = (line: string) => process.stderr.write(`${line}\n`)

// Ctrl-C ends the load and cleans up (opas stopped, database dropped); a second one quits at
// once (opas is still killed by the exit hook, but the database may be left behind).
const interrupt = new AbortController()
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130)
  log('interrupted: stopping the load and cleaning up (Ctrl-C again to quit at once)')
  interrupt.abort()
})

async function main(options: CrashOptions): Promise<number> {
  const results: PhaseResult[] = []
  for (const kind of options.dbs) {
    if (interrupt.signal.aborted) break
    const result = await runPhase(kind, options, log, interrupt.signal)
    results.push(result)
    process.stdout.write(`${formatPhase(result)}\n`)
  }
  process.stdout.write(`${formatSummary(results)}\n`)
  return results.some(failed) ? 1 : 0
}

let options: CrashOptions
try {
  options = parseOptions(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  log(`${err.message}\n\n${usage}`)
  process.exit(2)
}
if (options.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
process.exitCode = await main(options)
