// `npm run soak`: mixed load for a long stretch at a fraction of the measured maximum, with the
// server's RSS and the latency percentiles reported minute by minute. Both must stay flat: a
// leak, a growing queue or a table that slows as it fills shows up as a rising line.
import { parseArgs } from 'node:util'
import { startWalletAddressServer } from '../test/helpers/wallet-address-server.js'
import { Http } from './http.js'
import { RunContext, runLoad, type WorkerLogic } from './load.js'
import { parseOptions } from './options.js'
import { ProcessMonitor, rssBytes } from './proc-stats.js'
import { Scenarios } from './scenarios.js'
import { ErrorTally, median } from './stats.js'
import { prepareOpas, type Cleanup } from './subject.js'

const usage = `usage: npm run soak -- [options]

Starts opas like npm run bench (PostgreSQL from AUTH_DATABASE_URL / DATABASE_URL, else the embedded database),
measures its maximum on the mixed scenario (closed loop), then sends mixed load at a fixed
fraction of that rate and prints, each minute, the requests, errors, p50/p99/max latency and the
server's RSS. Exits 1 when a request failed or when RSS or p99 did not stay flat.

options:
  --minutes N          length of the soak, default 10
  --fraction F         share of the measured maximum to send, default 0.7
  --concurrency N      workers (enough to keep the rate when latency rises), default 64
  --calibrate S        seconds of the closed-loop measurement of the maximum, default 10
  --max-rss-growth P   allowed RSS growth from minute 2 to the last minute, percent, default 15
  --max-p99-ratio R    allowed median p99 of the last third of the minutes over that of the
                       first third after minute 1 (and 5 ms more), default 2
  --help               this text`

interface SoakOptions {
  minutes: number
  fraction: number
  concurrency: number
  calibrateS: number
  maxRssGrowth: number
  maxP99Ratio: number
}

function parse(argv: string[]): SoakOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      minutes: { type: 'string', default: '10' },
      fraction: { type: 'string', default: '0.7' },
      concurrency: { type: 'string', default: '64' },
      calibrate: { type: 'string', default: '10' },
      'max-rss-growth': { type: 'string', default: '15' },
      'max-p99-ratio': { type: 'string', default: '2' },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) return undefined
  const num = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new Error(`--${name}: expected a number in ${min}..${max}, got ${raw}`)
    }
    return n
  }
  return {
    minutes: num('minutes', values.minutes, 1, 24 * 60),
    fraction: num('fraction', values.fraction, 0.01, 1),
    concurrency: num('concurrency', values.concurrency, 1, 1024),
    calibrateS: num('calibrate', values.calibrate, 1, 600),
    maxRssGrowth: num('max-rss-growth', values['max-rss-growth'], 0, 1000),
    maxP99Ratio: num('max-p99-ratio', values['max-p99-ratio'], 1, 100)
  }
}

/**
 * Paces workers to `perSecond` requests in all: each request waits for the next free slot of one
 * shared schedule, so the rate holds whatever the latency (as long as there are enough workers),
 * and a slow answer never makes the following requests bunch up beyond the schedule.
 */
function paced(workers: WorkerLogic[], perSecond: number): WorkerLogic[] {
  const interval = 1000 / perSecond
  let nextSlot = performance.now()
  const slot = (): Promise<void> => {
    const now = performance.now()
    nextSlot = Math.max(nextSlot + interval, now)
    const wait = nextSlot - now
    return wait < 1 ? Promise.resolve() : new Promise((r) => setTimeout(r, wait))
  }
  return workers.map((w) => ({
    async next() {
      await slot()
      return w.next()
    },
    settle: (answer) => w.settle(answer)
  }))
}

interface Minute {
  minute: number
  requests: number
  errors: number
  p50: number
  p99: number
  max: number
  rssMiB: number
  maxRssMiB: number
}

const MiB = 2 ** 20

async function soak(options: SoakOptions, log: (line: string) => void): Promise<number> {
  const cleanups: Cleanup[] = []
  try {
    const benchOptions = parseOptions(['--scenario', 'mixed'])!
    const wallets = await startWalletAddressServer()
    cleanups.push(() => wallets.close())
    const subject = await prepareOpas(benchOptions, { log, interrupted: () => false, cleanups })
    const clients = Array.from({ length: benchOptions.clients }, (_, i) =>
      wallets.addClient(`client-${i}`, { authServer: subject.target.grantUrl })
    )
    const scenarios = new Scenarios({
      target: subject.target,
      clients,
      walletUrl: wallets.url,
      tokenPoolSize: benchOptions.tokenPool,
      prefilled: benchOptions.prefill
    })
    const http = new Http(options.concurrency)
    cleanups.push(() => http.close())
    const setupErrors = new ErrorTally()
    const workers = (n: number) => scenarios.workers('mixed', n, new RunContext(http, setupErrors))
    const quiet = { start() {}, end() {} }
    await scenarios.issueTokens(http, setupErrors)

    const calibration = await runLoad(
      http,
      workers(16),
      {
        concurrency: 16,
        durationMs: options.calibrateS * 1000,
        warmupMs: 3000,
        maxRequests: 5_000_000,
        interrupted: () => false
      },
      setupErrors,
      quiet
    )
    const max = calibration.requests / (calibration.elapsedMs / 1000)
    const rate = max * options.fraction
    log(
      `maximum (mixed, 16 workers, ${options.calibrateS} s): ${max.toFixed(0)} req/s; ` +
        `soaking at ${rate.toFixed(0)} req/s for ${options.minutes} min with ${options.concurrency} workers`
    )
    log('minute  requests  req/s  errors  p50 ms  p99 ms  max ms  RSS MiB  max RSS MiB')

    const minutes: Minute[] = []
    let failed = 0
    const pacedWorkers = paced(workers(options.concurrency), rate)
    for (let minute = 1; minute <= options.minutes; minute++) {
      // The introspected tokens live 600 s: renew the pool before it would expire mid-minute.
      if (scenarios.needsTokens('mixed', 60_000)) await scenarios.issueTokens(http, setupErrors)
      subject.check()
      const monitor = new ProcessMonitor(subject.pid)
      const result = await runLoad(
        http,
        pacedWorkers,
        {
          concurrency: options.concurrency,
          durationMs: 60_000,
          warmupMs: 0,
          maxRequests: 5_000_000,
          interrupted: () => false
        },
        setupErrors,
        { start: () => monitor.start(), end: () => void 0 }
      )
      const usage = monitor.stop()
      const errors = [...result.errors.byLabel.values()].reduce((n, e) => n + e.count, 0)
      failed += errors
      const row: Minute = {
        minute,
        requests: result.requests,
        errors,
        p50: result.latency.p50,
        p99: result.latency.p99,
        max: result.latency.max,
        rssMiB: (subject.pid === undefined ? 0 : (rssBytes(subject.pid) ?? 0)) / MiB,
        maxRssMiB: (usage.maxRssBytes ?? 0) / MiB
      }
      minutes.push(row)
      log(
        [
          String(minute).padStart(6),
          String(row.requests).padStart(9),
          (row.requests / 60).toFixed(0).padStart(6),
          String(errors).padStart(7),
          row.p50.toFixed(2).padStart(7),
          row.p99.toFixed(2).padStart(7),
          row.max.toFixed(1).padStart(7),
          row.rssMiB.toFixed(1).padStart(8),
          row.maxRssMiB.toFixed(1).padStart(12)
        ].join(' ')
      )
      for (const [label, e] of result.errors.byLabel) log(`  ${label} x${e.count}: ${e.sample}`)
    }
    return verdict(minutes, failed, options, log)
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  }
}

/**
 * Flat means: no failed request, RSS at the end within bounds of minute 2, and p99 of the last
 * minutes within bounds of the first ones. p99 is compared as the median of a window (a third of
 * the minutes after the first, at least one): a single minute's p99 on a shared machine follows
 * PostgreSQL's checkpoints (every 5 minutes by default; the pages written after one carry full
 * images in the WAL), while a leak, a growing queue or a table slowing as it fills is a trend
 * that moves the whole window.
 */
function verdict(
  minutes: Minute[],
  failed: number,
  options: SoakOptions,
  log: (line: string) => void
): number {
  const problems: string[] = []
  if (failed > 0) problems.push(`${failed} requests failed`)
  // Minute 1 still fills caches, pools and the JIT: the baseline starts at minute 2.
  const steady = minutes.length > 1 ? minutes.slice(1) : minutes
  const base = steady[0]!
  const last = steady[steady.length - 1]!
  const growth = ((last.maxRssMiB - base.maxRssMiB) / base.maxRssMiB) * 100
  if (growth > options.maxRssGrowth) {
    problems.push(`RSS grew ${growth.toFixed(1)} % (minute ${base.minute} to ${last.minute})`)
  }
  const window = Math.max(1, Math.floor(steady.length / 3))
  const first = steady.slice(0, window)
  const final = steady.slice(-window)
  const span = (w: Minute[]) =>
    w.length === 1 ? `minute ${w[0]!.minute}` : `minutes ${w[0]!.minute}-${w[w.length - 1]!.minute}`
  const p99First = median(first.map((m) => m.p99))
  const p99Final = median(final.map((m) => m.p99))
  if (p99Final > p99First * options.maxP99Ratio + 5) {
    problems.push(`p99 rose from ${p99First.toFixed(2)} ms to ${p99Final.toFixed(2)} ms`)
  }
  log(
    `RSS ${base.maxRssMiB.toFixed(1)} -> ${last.maxRssMiB.toFixed(1)} MiB (${growth.toFixed(1)} %), ` +
      `median p99 ${p99First.toFixed(2)} ms (${span(first)}) -> ${p99Final.toFixed(2)} ms ` +
      `(${span(final)}): ` +
      (problems.length === 0 ? 'flat' : `NOT flat: ${problems.join('; ')}`)
  )
  return problems.length === 0 ? 0 : 1
}

const log = (line: string) => process.stderr.write(`${line}\n`)
try {
  const options = parse(process.argv.slice(2))
  if (options === undefined) {
    process.stdout.write(`${usage}\n`)
    process.exit(0)
  }
  process.exitCode = await soak(options, log)
} catch (err) {
  log(`soak: ${(err as Error).message}`)
  process.exitCode = 2
}
