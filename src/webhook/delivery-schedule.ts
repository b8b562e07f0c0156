/**
 * When a failed delivery is tried again: exponential backoff from WEBHOOK_RETRY_DELAY_MS (10 s
 * by default, Rafiki's first retry), doubling at each failure up to an hour, and given up after
 * WEBHOOK_MAX_RETRIES retries (the first attempt is not a retry). Pure: the caller passes the
 * time.
 */
export interface RetryPolicy {
  maxRetries: number
  firstDelayMs: number
  /** The longest wait between two attempts. */
  maxDelayMs: number
}

export const MAX_RETRY_DELAY_MS = 3_600_000

/** The wait before the attempt after `failedAttempts` failures (1: the first retry). */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number): number {
  const doublings = Math.min(Math.max(failedAttempts - 1, 0), 40)
  return Math.min(policy.firstDelayMs * 2 ** doublings, policy.maxDelayMs)
}

/** After a failed attempt (`attempts` made in all, this one included): try again, or give up. */
export function afterFailure(
  policy: RetryPolicy,
  attempts: number,
  now: number
): { state: 'pending'; nextAttemptAt: Date } | { state: 'failed' } {
  if (attempts > policy.maxRetries) return { state: 'failed' }
  return { state: 'pending', nextAttemptAt: new Date(now + retryDelayMs(policy, attempts)) }
}
