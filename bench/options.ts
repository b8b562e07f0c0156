import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { defaultFloorServer } from './floor-compare.js'
import { assertLoopback } from './http.js'
import { floorScenarios, scenarioNames, type ScenarioName } from './scenarios.js'

export const usage = `usage: npm run bench -- [options]

Starts opas (node dist/cli/opas.js start) on a fresh database and measures it under load:
PostgreSQL when AUTH_DATABASE_URL or DATABASE_URL is set (a new database opas_bench_<random>
is created on that server and dropped afterwards), else the embedded database (the default
store) in a temporary DATA_DIR. DATABASE_PREPARED_STATEMENTS, when set, is passed on to opas.

options:
  --scenario LIST      comma-separated, default all: ${scenarioNames.join(', ')}
  --concurrency LIST   concurrent workers per run, default 1,16,64 (--short: 1,16)
  --duration S         measured seconds per run, default 20 (--short: 1)
  --warmup S           unmeasured seconds before each run, default 2 (--short: 0.5)
  --max-requests N     hard cap on measured requests per run, default 500000
  --clients N          wallet addresses (one Ed25519 key each) signing requests, default 50
  --prefill N          insert N realistic grants before measuring, default 0 (--short: 100)
  --workers N          run opas with 'start --workers N' (PostgreSQL only); RSS and CPU
                       are summed over its processes; default 1
  --cpu-prof DIR       run opas under node --cpu-prof, writing .cpuprofile files to DIR
                       (open them in Chrome DevTools or speedscope; the numbers measured
                       with it are slower than without)
  --webhooks           send webhooks to a local receiver (its own process, answering 200):
                       the cost of webhooks on the hot paths
  --receiver-cpu       keep the last CPU for that receiver (as on a host of its own): opas,
                       its database and the load generator run on the others; give it with
                       and without --webhooks, so that the two runs compare (needs taskset)
  --keep-db            keep the bench database (or embedded data directory) and print where
  --json FILE          also write the results as JSON
  --short              a few seconds in all, for CI: exits non-zero if any request failed
  --floor              opas and the floor server side by side on PostgreSQL (AUTH_DATABASE_URL),
                       in alternating rounds, each in a bench run of its own; prints the
                       ratios (default scenarios grant,rotate,introspect, concurrency 16)
    --rounds N         rounds (an opas run, then a floor run), default 3
    --floor-server F   the floor server's script, default ../shared/bench/floor-server.mjs
                       beside the checkout
  --target floor       drive the floor server (../shared/bench/floor-server.mjs beside the checkout) instead:
    --url URL          its origin, e.g. http://127.0.0.1:4700 (required)
    --pid PID          its process id, to report its RSS and CPU time (optional)
    --db URL           its database, to report its size; the INSERT floor then runs in a
                       scratch database on the same server (optional)
                       only ${floorScenarios.join(', ')} apply to it
  --help               this text`

export interface Options {
  scenarios: ScenarioName[]
  concurrency: number[]
  durationS: number
  warmupS: number
  maxRequests: number
  clients: number
  /** opas server processes (`opas start --workers N`). */
  workers: number
  prefill: number
  keepDb: boolean
  json: string | undefined
  short: boolean
  target: 'opas' | 'floor'
  url: string | undefined
  pid: number | undefined
  floorDb: string | undefined
  /** Directory for opas' V8 CPU profiles (node --cpu-prof), if any. */
  cpuProfDir: string | undefined
  /** Webhooks on, to a receiver beside opas. */
  webhooks: boolean
  /** The last CPU kept for the receiver, the rest for opas and the load generator. */
  receiverCpu: boolean
  /** --floor: opas against the floor server in alternating rounds. */
  floor: boolean
  rounds: number
  /** The floor server's script (--floor). */
  floorServer: string | undefined
  /** Tokens the introspection scenarios pre-issue. */
  tokenPool: number
  /** Seconds of each floor measurement. */
  floorSeconds: { verify: number; insert: number }
}

export class UsageError extends Error {}

function positiveNumber(name: string, value: string, integer: boolean, max: number): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name}: expected a positive ${integer ? 'integer' : 'number'} <= ${max}, got ${value}`
    )
  }
  return n
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Parses argv; returns undefined for --help. Throws UsageError for anything invalid. */
export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      scenario: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'max-requests': { type: 'string' },
      clients: { type: 'string' },
      prefill: { type: 'string' },
      'keep-db': { type: 'boolean', default: false },
      webhooks: { type: 'boolean', default: false },
      'receiver-cpu': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'string' },
      short: { type: 'boolean', default: false },
      target: { type: 'string', default: 'opas' },
      url: { type: 'string' },
      pid: { type: 'string' },
      db: { type: 'string' },
      floor: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'floor-server': { type: 'string' },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) return undefined
  const short = values.short
  const target = values.target
  if (target !== 'opas' && target !== 'floor') {
    throw new UsageError(`--target: expected opas or floor, got ${target}`)
  }
  const floor = values.floor
  const allowed: readonly ScenarioName[] =
    target === 'floor' || floor ? floorScenarios : scenarioNames
  const scenarios =
    values.scenario === undefined
      ? floor
        ? ['grant', 'rotate', 'introspect']
        : [...allowed]
      : list(values.scenario)
  for (const s of scenarios) {
    if (!allowed.includes(s as ScenarioName)) {
      throw new UsageError(
        `--scenario: ${s} is not one of ${allowed.join(', ')} (target ${target})`
      )
    }
  }
  if (scenarios.length === 0) throw new UsageError('--scenario: no scenario given')
  const concurrency = list(values.concurrency ?? (floor ? '16' : short ? '1,16' : '1,16,64')).map(
    (c) => positiveNumber('concurrency', c, true, 1024)
  )
  if (concurrency.length === 0) throw new UsageError('--concurrency: no value given')
  if (target === 'floor') {
    if (values.url === undefined) throw new UsageError('--target floor needs --url')
    try {
      assertLoopback(values.url)
    } catch (err) {
      throw new UsageError(`--url: ${(err as Error).message}`)
    }
    if (values.prefill !== undefined) throw new UsageError('--prefill applies to opas only')
    if (values['cpu-prof'] !== undefined) throw new UsageError('--cpu-prof applies to opas only')
    if (values.webhooks) throw new UsageError('--webhooks applies to opas only')
    if (values['receiver-cpu']) throw new UsageError('--receiver-cpu applies to opas only')
  } else {
    for (const name of ['url', 'pid', 'db'] as const) {
      if (values[name] !== undefined)
        throw new UsageError(`--${name} applies to --target floor only`)
    }
  }
  let floorServer: string | undefined
  if (floor) {
    floorServer = checkFloor(values, target, concurrency)
  } else {
    for (const name of ['rounds', 'floor-server'] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} applies to --floor only`)
    }
  }
  const prefill = values.prefill ?? (short && target === 'opas' && !floor ? '100' : '0')
  return {
    scenarios: scenarios as ScenarioName[],
    concurrency,
    durationS: positiveNumber('duration', values.duration ?? (short ? '1' : '20'), false, 86_400),
    warmupS:
      values.warmup === '0'
        ? 0
        : positiveNumber('warmup', values.warmup ?? (short ? '0.5' : '2'), false, 600),
    maxRequests: positiveNumber(
      'max-requests',
      values['max-requests'] ?? '500000',
      true,
      50_000_000
    ),
    clients: positiveNumber('clients', values.clients ?? '50', true, 10_000),
    workers: positiveNumber('workers', values.workers ?? '1', true, 64),
    prefill: prefill === '0' ? 0 : positiveNumber('prefill', prefill, true, 100_000_000),
    keepDb: values['keep-db'],
    json: values.json,
    short,
    target,
    url: values.url,
    pid: values.pid === undefined ? undefined : positiveNumber('pid', values.pid, true, 2 ** 22),
    floorDb: values.db,
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    webhooks: values.webhooks,
    receiverCpu: values['receiver-cpu'],
    floor,
    rounds: positiveNumber('rounds', values.rounds ?? '3', true, 100),
    floorServer,
    tokenPool: short ? 50 : 500,
    floorSeconds: short ? { verify: 0.3, insert: 0.5 } : { verify: 1, insert: 2 }
  }
}

/**
 * --floor's rules: on PostgreSQL (the floor server has no embedded database), one concurrency
 * (the rounds' runs are compared one to one), opas as it runs in production (one process, no
 * prefill, no profiler, webhooks as configured by default), and the floor server's script found.
 */
function checkFloor(
  values: Record<string, string | boolean | undefined>,
  target: string,
  concurrency: number[]
): string {
  if (target !== 'opas') throw new UsageError('--floor drives both servers: leave out --target')
  if (!(process.env.AUTH_DATABASE_URL || process.env.DATABASE_URL)) {
    throw new UsageError(
      '--floor compares on PostgreSQL: set AUTH_DATABASE_URL (e.g. ' +
        'postgresql://postgres@127.0.0.1:5432/postgres); both servers get a database of their own there'
    )
  }
  if (concurrency.length !== 1) {
    throw new UsageError('--floor: give one --concurrency (the rounds compare run to run)')
  }
  for (const name of [
    'prefill',
    'cpu-prof',
    'webhooks',
    'receiver-cpu',
    'workers',
    'keep-db',
    'short'
  ]) {
    if (values[name] !== undefined && values[name] !== false) {
      throw new UsageError(`--${name} does not apply to --floor`)
    }
  }
  const script = values['floor-server']
  const path = typeof script === 'string' ? resolve(script) : defaultFloorServer()
  if (path === undefined || !existsSync(path)) {
    throw new UsageError(
      `--floor: the floor server's script is not at ${path ?? '../shared/bench/floor-server.mjs beside the checkout'}: ` +
        'give its path with --floor-server'
    )
  }
  return path
}
