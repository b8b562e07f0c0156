import type { DeliveryView } from '../../webhook/webhook-store.js'
import { moment } from './layout.js'

/** A delivery's story as the Webhooks page tells it: where it stands, and what went wrong. */
export interface DeliveryWords {
  /** Its state in one sentence ("Waiting for a retry at …"). */
  state: string
  /** The last failed attempt: its error, status and when, and how many were made. */
  failure?: string
  /** Whether "retry now" may help: given up, or waiting for a retry and not being tried. */
  retryable: boolean
}

const attemptsText = (n: number) => (n === 1 ? '1 attempt' : `${n} attempts`)

/** "3 minutes": an age in the largest unit it fills, for the summary line. */
export function ageInWords(seconds: number): string {
  const units = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second']
  ] as const
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size)
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`
  }
  return 'less than a second'
}

/**
 * A delivery in words at `now`. `queued`: pending behind an earlier pending event of its grant
 * (or tenant), which it waits for. `leasedUntil` ahead of now: a process is sending it.
 */
export function deliveryInWords(d: DeliveryView, now: number): DeliveryWords {
  const failure =
    d.lastAttemptAt && d.state !== 'delivered' && (d.lastError !== null || d.lastStatus !== null)
      ? `Last attempt at ${moment(d.lastAttemptAt)}: ${d.lastError ?? 'failed'}${
          d.lastStatus !== null ? ` (status ${d.lastStatus})` : ''
        }.`
      : undefined
  // A retry pressed on a given-up delivery starts its count afresh.
  const soFar = d.attempts > 0 ? ` (${attemptsText(d.attempts)} so far)` : ''
  const withFailure = (words: Omit<DeliveryWords, 'failure'>): DeliveryWords =>
    failure ? { ...words, failure } : words
  switch (d.state) {
    case 'delivered':
      return {
        state: `Delivered at ${moment(d.deliveredAt ?? d.lastAttemptAt ?? d.createdAt)} (after ${attemptsText(d.attempts)}).`,
        retryable: false
      }
    case 'failed':
      return withFailure({ state: `Given up after ${attemptsText(d.attempts)}.`, retryable: true })
    case 'pending':
      if (d.leasedUntil && d.leasedUntil.getTime() > now) {
        return withFailure({ state: `Being tried now${soFar}.`, retryable: false })
      }
      if (d.queued) {
        const whose = d.grantId !== null ? 'grant' : 'tenant'
        return {
          state: `Queued behind an earlier event of its ${whose}, which waits for its retry.`,
          retryable: false
        }
      }
      if (d.nextAttemptAt && d.nextAttemptAt.getTime() > now) {
        return withFailure({
          state: `Waiting for a retry at ${moment(d.nextAttemptAt)}${soFar}.`,
          retryable: true
        })
      }
      return withFailure({ state: `To be tried again in a moment${soFar}.`, retryable: true })
  }
}
