import { setTimeout as wait } from 'node:timers/promises'
import type { Db } from './db.js'
import { isDatabaseUnavailable } from './db-errors.js'

/**
 * Waiting for an external database at start. Compose, Kubernetes and systemd start services in
 * any order: a PostgreSQL still starting up, not yet listening, or whose host name is not yet
 * in DNS is waited for (DATABASE_WAIT_SECONDS), with backoff. A refused password or a missing
 * database will not come right by waiting and ends the wait at once.
 */

/** The resolver's: a host name not (yet) known, or no DNS answer for now. */
const notYetResolvable = new Set(['ENOTFOUND', 'EAI_AGAIN'])

export function isWorthWaitingFor(err: unknown): boolean {
  if (isDatabaseUnavailable(err)) return true
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown }
  return typeof code === 'string' && notYetResolvable.has(code) && syscall === 'getaddrinfo'
}

/** The wait failed: the database did not answer in time, or refused in a way waiting won't mend. */
export class DatabaseWaitError extends Error {}

export interface DatabaseWaitOptions {
  /** Where the database is, for messages, its password redacted: `AUTH_DATABASE_URL=…`. */
  describe: string
  limitSeconds: number
  /** Each failed attempt that will be tried again, and after how long. */
  onRetry(attempt: { attempt: number; reason: string; retryInMs: number }): void
  /** A start interrupted (Ctrl-C): the wait ends at once, rejecting with the signal's reason. */
  abort?: AbortSignal
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

const firstDelayMs = 250
const longestDelayMs = 5_000

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** Resolves once the database answers a query; DatabaseWaitError when it does not in time. */
export async function waitForDatabase(db: Db, options: DatabaseWaitOptions): Promise<void> {
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? ((ms) => wait(ms, undefined, { signal: options.abort }))
  const deadline = now() + options.limitSeconds * 1000
  let delay = firstDelayMs
  for (let attempt = 1; ; attempt++) {
    options.abort?.throwIfAborted()
    try {
      await db.query('select 1')
      return
    } catch (err) {
      if (!isWorthWaitingFor(err)) {
        throw new DatabaseWaitError(`the database at ${options.describe} refused: ${reasonOf(err)}`)
      }
      const left = deadline - now()
      if (left <= 0) {
        throw new DatabaseWaitError(
          `the database at ${options.describe} did not answer within ${options.limitSeconds} s ` +
            `(DATABASE_WAIT_SECONDS; ${attempt} attempt(s)): ${reasonOf(err)}`
        )
      }
      const retryInMs = Math.min(delay, left)
      options.onRetry({ attempt, reason: reasonOf(err), retryInMs })
      await sleep(retryInMs).catch((sleepError: unknown) => {
        options.abort?.throwIfAborted()
        throw sleepError
      })
      delay = Math.min(delay * 2, longestDelayMs)
    }
  }
}
