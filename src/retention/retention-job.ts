import type { Logger } from 'pino'

/** Rows deleted by one pass of each retention rule. */
export interface RetentionCounts {
  tokens: number
  finishedGrants: number
  abandonedGrants: number
  replays: number
  /** Audit events past EVENT_RETENTION_DAYS. */
  events: number
  /** Webhook deliveries done with (delivered, given up) past WEBHOOK_RETENTION_DAYS. */
  webhooks: number
}

/**
 * One delete per rule, each asked of the domain that owns the table (bound to its retention
 * period by the caller): deletes at most `limit` rows, picked through an index on created_at
 * (or expires_at), skipping rows another transaction holds, so a request in flight is never
 * waited for and two opas processes cleaning at once do not queue behind each other. Answers
 * how many it deleted.
 */
export type RetentionRules = Record<keyof RetentionCounts, (limit: number) => Promise<number>>

export interface RetentionJobOptions {
  rules: RetentionRules
  /** Time between the end of one pass and the start of the next. */
  intervalMs: number
  /** Rows per delete statement: small enough that each statement is short. */
  batchSize: number
  /** Statements per rule and pass, so that one pass ends even on a huge backlog. */
  maxBatchesPerPass?: number
  logger: Pick<Logger, 'info' | 'warn'>
  onDeleted?: (counts: RetentionCounts) => void
}

export interface RetentionJob {
  /** One full pass now (the timer's pass is skipped while one runs). */
  runOnce(): Promise<RetentionCounts>
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>
}

const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Periodic deletion of what opas no longer needs (Rafiki ran its cleanup once, at boot, and
 * never deleted abandoned grants: weakness §12.26). Each rule deletes in batches of short
 * statements with a turn of the event loop between them, so requests are never held up; every
 * process sharing a database may run it (rows another holds are skipped, not waited for).
 */
export function startRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { rules, batchSize, logger } = options
  const maxBatches = options.maxBatchesPerPass ?? 100

  async function drain(rule: (limit: number) => Promise<number>): Promise<number> {
    let total = 0
    for (let i = 0; i < maxBatches; i++) {
      const deleted = await rule(batchSize)
      total += deleted
      if (deleted < batchSize) break
      await yieldToRequests()
    }
    return total
  }

  async function pass(): Promise<RetentionCounts> {
    const counts: RetentionCounts = {
      tokens: await drain(rules.tokens),
      // After the tokens, so that a grant whose last token just went is deleted in this pass.
      finishedGrants: await drain(rules.finishedGrants),
      abandonedGrants: await drain(rules.abandonedGrants),
      replays: await drain(rules.replays),
      events: await drain(rules.events),
      webhooks: await drain(rules.webhooks)
    }
    options.onDeleted?.(counts)
    if (Object.values(counts).some((n) => n > 0)) logger.info({ deleted: counts }, 'retention pass')
    return counts
  }

  let running: Promise<RetentionCounts> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  function runOnce(): Promise<RetentionCounts> {
    running ??= pass().finally(() => {
      running = undefined
    })
    return running
  }

  function schedule(): void {
    if (stopped) return
    // ±10 % jitter keeps processes started together from cleaning in lockstep.
    const delay = options.intervalMs * (0.9 + Math.random() * 0.2)
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => logger.warn({ err }, 'retention pass failed; retrying later'))
        .finally(schedule)
    }, delay)
    // The job never keeps a stopping process alive.
    timer.unref()
  }

  schedule()
  return {
    runOnce,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running?.catch(() => undefined)
    }
  }
}
