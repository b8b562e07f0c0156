import { setTimeout as sleep } from 'node:timers/promises'
import type { Answer, BenchRequest, Http } from './http.js'
import { ErrorTally, LatencyRecorder, type LatencySummary } from './stats.js'

/**
 * One closed-loop worker of a scenario. `next` may first do unmeasured setup (obtain a grant to
 * rotate, start a grant to poll) through `RunContext.setup`; `settle` sees every answer
 * (undefined after a network error) so the worker can keep its chain going or start over, and
 * names a 2xx answer that is not what the scenario expects.
 */
export interface WorkerLogic {
  next(): BenchRequest | Promise<BenchRequest>
  settle(answer: Answer | undefined): string | undefined
}

/** Thrown by setup that failed (already tallied); the worker backs off and tries again. */
export class SetupError extends Error {}

export class RunContext {
  constructor(
    readonly http: Http,
    /** Failures outside the measured requests: setup and warm-up. */
    readonly setupErrors: ErrorTally
  ) {}

  /** An unmeasured request whose failure is tallied and thrown as SetupError. */
  async setup(req: BenchRequest, what: string): Promise<Answer> {
    let answer: Answer
    try {
      answer = await this.http.send(req)
    } catch (err) {
      this.setupErrors.add(`setup ${what}: ${networkLabel(err)}`, String(err))
      throw new SetupError(what)
    }
    if (answer.status < 200 || answer.status > 299) {
      this.setupErrors.add(`setup ${what}: ${answer.status}`, answer.body)
      throw new SetupError(what)
    }
    return answer
  }
}

export type WorkerFactory = (index: number, ctx: RunContext) => WorkerLogic

export interface LoadOptions {
  concurrency: number
  durationMs: number
  warmupMs: number
  maxRequests: number
  /** True once the user interrupted the benchmark: every loop ends at its next request. */
  interrupted: () => boolean
}

export interface LoadResult {
  requests: number
  elapsedMs: number
  latency: LatencySummary
  errors: ErrorTally
}

export function networkLabel(err: unknown): string {
  const code = (err as { code?: unknown }).code
  return `network ${typeof code === 'string' ? code : (err as Error).name}`
}

/** A stretch of time in which workers send requests: bounded by a deadline and a count. */
class Phase {
  issued = 0
  constructor(
    private readonly deadline: number,
    private readonly max: number,
    private readonly interrupted: () => boolean,
    readonly errors: ErrorTally,
    readonly labelPrefix: string,
    readonly recorder?: LatencyRecorder
  ) {}

  open(): boolean {
    return this.issued < this.max && performance.now() < this.deadline && !this.interrupted()
  }
}

async function work(worker: WorkerLogic, phase: Phase, http: Http): Promise<void> {
  while (phase.open()) {
    let req: BenchRequest
    try {
      req = await worker.next()
    } catch (err) {
      if (!(err instanceof SetupError)) throw err
      await sleep(100) // the server refused the setup: do not spin on it
      continue
    }
    if (!phase.open()) return
    phase.issued++
    let answer: Answer | undefined
    let failure: unknown
    const started = performance.now()
    try {
      answer = await http.send(req)
    } catch (err) {
      failure = err
    }
    phase.recorder?.record(performance.now() - started)
    const unexpected = worker.settle(answer)
    if (answer === undefined) {
      phase.errors.add(phase.labelPrefix + networkLabel(failure), String(failure))
      await sleep(10) // a dead server refuses at once; keep the loop from spinning
    } else if (answer.status < 200 || answer.status > 299) {
      phase.errors.add(phase.labelPrefix + String(answer.status), answer.body)
    } else if (unexpected !== undefined) {
      phase.errors.add(`${phase.labelPrefix}${answer.status} ${unexpected}`, answer.body)
    }
  }
}

/**
 * Unmeasured load: opens connections, fills caches and lets the server's JIT compile the
 * scenario's code path. Problems go to `setupErrors`, labelled `warm-up`.
 */
export async function warmUp(
  http: Http,
  workers: WorkerLogic[],
  options: Pick<LoadOptions, 'warmupMs' | 'maxRequests' | 'interrupted'>,
  setupErrors: ErrorTally
): Promise<void> {
  if (options.warmupMs <= 0) return
  const phase = new Phase(
    performance.now() + options.warmupMs,
    options.maxRequests,
    options.interrupted,
    setupErrors,
    'warm-up '
  )
  await Promise.all(workers.map((w) => work(w, phase, http)))
}

/**
 * Runs `concurrency` closed-loop workers: a warm-up (not measured), then the measured stretch.
 * `onMeasure` brackets the measured stretch exactly, for the server's CPU and memory readings.
 */
export async function runLoad(
  http: Http,
  workers: WorkerLogic[],
  options: LoadOptions,
  setupErrors: ErrorTally,
  onMeasure: { start(): void; end(): void }
): Promise<LoadResult> {
  const { durationMs, maxRequests, interrupted } = options
  await warmUp(http, workers, options, setupErrors)
  const recorder = new LatencyRecorder(maxRequests)
  const errors = new ErrorTally()
  onMeasure.start()
  const started = performance.now()
  const measured = new Phase(started + durationMs, maxRequests, interrupted, errors, '', recorder)
  await Promise.all(workers.map((w) => work(w, measured, http)))
  const elapsedMs = performance.now() - started
  onMeasure.end()
  return { requests: recorder.count, elapsedMs, latency: recorder.summary(), errors }
}
