import pLimit from 'p-limit'
import type { Logger } from 'pino'
import type { Db } from '../storage/db.js'
import { afterFailure, type RetryPolicy } from './delivery-schedule.js'
import {
  orderKeyOf,
  webhookIdOf,
  webhookOf,
  webhookSourceTypes,
  type SourceEvent
} from './webhook-events.js'
import type { SendResult, WebhookSender, WebhookTarget } from './webhook-sender.js'
import type { WebhookBody } from './webhook-signature.js'
import {
  claimDue,
  insertDeliveries,
  lockCursor,
  moveCursor,
  readCommitted,
  recordAttempts,
  type AttemptOutcome,
  type NewDelivery
} from './webhook-store.js'

/** Where webhooks go: WEBHOOK_URL (the operator's), and a tenant's own URL when it has one. */
export interface WebhookTargets {
  /** WEBHOOK_URL with WEBHOOK_SIGNATURE_SECRET; none when unset. */
  global: WebhookTarget | undefined
  /** A live tenant's own receiver, if it has one. */
  ofTenant(tenantId: string): Promise<WebhookTarget | undefined>
  /** Whether any live tenant has a receiver of its own. */
  anyTenant(): Promise<boolean>
}

/** How an attempt ended, for the metrics: delivered, failed (to be retried), or given up. */
export type AttemptResult = 'delivered' | 'failed' | 'gave_up'

export interface WebhookDelivererOptions {
  /** The requests' pool: the short statements (retries taken and written down, the cursor kept up). */
  db: Db
  /**
   * Where the reading transaction runs (default `db`): it holds its connection while it sends,
   * so a pool of its own keeps it from taking one the requests need (Db.separate).
   */
  reading?: Db
  sender: Pick<WebhookSender, 'send'>
  targets: WebhookTargets
  policy: RetryPolicy
  /** WEBHOOK_TIMEOUT_MS: a lease outlasts an attempt by a margin. */
  timeoutMs: number
  now: () => number
  logger: Pick<Logger, 'warn' | 'info'>
  onAttempt?: (result: AttemptResult) => void
  /** Transactions read at most in one pass (their events, sent together). */
  window?: number
  /** Retries taken at most in one pass. */
  batchSize?: number
  /** Webhooks in flight at most at once. */
  concurrency?: number
}

export interface WebhookDeliverer {
  /** One pass: new events read and sent, then due retries; how many attempts it made. */
  runOnce(): Promise<number>
  /** Passes every `intervalMs` (at once again while there is more to do), until stop. */
  start(intervalMs: number): void
  /** Stops the passes and waits for one in progress. */
  stop(): Promise<void>
}

/** With nothing to send, the cursor still keeps up with the horizon this often (one write). */
const IDLE_CURSOR_MS = 10_000
const LEASE_MARGIN_MS = 30_000

/**
 * The webhook deliverer, run by every opas process: reads the events committed since its
 * cursor (one process at a time, holding the cursor's lock until what it read is sent and
 * written down), sends each at once, and keeps each delivery that failed for a retry, which any
 * process may take. Delivery is at least once (a process killed between a receiver's 200 and
 * its commit sends again, with the same id), after the change has committed, and in the order
 * of each grant's events (a tenant's, for its own): a later event waits behind an earlier one
 * until that is delivered or given up.
 */
export function createWebhookDeliverer(options: WebhookDelivererOptions): WebhookDeliverer {
  const { db, sender, targets, policy, now, logger } = options
  const reading = options.reading ?? db
  const window = options.window ?? 1000
  const batchSize = options.batchSize ?? 200
  const limit = pLimit(options.concurrency ?? 32)

  /**
   * Who hears of an event: a tenant's own receiver, or WEBHOOK_URL (null), or none (undefined).
   * A tenant's own changes (created, updated, deleted) are the operator's business. `ofTenant`:
   * the tenants' receivers as this pass found them.
   */
  function recipientOf(
    event: SourceEvent,
    ofTenant: Map<string, WebhookTarget | undefined>
  ): string | null | undefined {
    if (event.tenantId !== null && !event.type.startsWith('tenant.')) {
      if (ofTenant.get(event.tenantId)) return event.tenantId
    }
    return targets.global ? null : undefined
  }

  /** The receivers of these tenants (asked once each: a pass holds hundreds of events). */
  async function tenantTargets(items: ReadonlyArray<{ tenantId: string | null }>) {
    const found = new Map<string, WebhookTarget | undefined>()
    for (const { tenantId } of items) {
      if (tenantId !== null && !found.has(tenantId)) {
        found.set(tenantId, await targets.ofTenant(tenantId))
      }
    }
    return found
  }

  /** Sends to the recipient's receiver as `ofTenant` found it (null: WEBHOOK_URL). */
  async function send(
    recipient: string | null,
    ofTenant: Map<string, WebhookTarget | undefined>,
    body: WebhookBody
  ): Promise<SendResult> {
    const target = recipient === null ? targets.global : ofTenant.get(recipient)
    if (!target) {
      const error =
        recipient === null ? 'WEBHOOK_URL is not set' : `tenant ${recipient} has no webhook URL now`
      return { delivered: false, status: null, error }
    }
    return sender.send(target, body)
  }

  /** A delivery's state after an attempt made `attempts` in all. */
  function outcomeOf(result: SendResult, attempts: number, at: Date) {
    if (result.delivered) {
      options.onAttempt?.('delivered')
      return { state: 'delivered' as const, nextAttemptAt: null, status: 200, error: null }
    }
    const next = afterFailure(policy, attempts, at.getTime())
    options.onAttempt?.(next.state === 'failed' ? 'gave_up' : 'failed')
    return {
      state: next.state,
      nextAttemptAt: next.state === 'pending' ? next.nextAttemptAt : null,
      status: result.status,
      error: result.error
    }
  }

  /** New events: read, sent (each grant's in order), written down, the cursor moved past them. */
  async function readAndSend(): Promise<{ attempts: number; more: boolean }> {
    return reading.transaction(async (tx) => {
      const cursor = await lockCursor(tx)
      if (!cursor.locked) return { attempts: 0, more: false }
      const idle = now() - cursor.updatedAt.getTime() > IDLE_CURSOR_MS
      const { horizon, events } = await readCommitted(tx, cursor.xid, window, webhookSourceTypes)
      const moved = BigInt(horizon) - BigInt(cursor.xid)
      if (events.length === 0) {
        // Moving the cursor takes a transaction id itself: not for every pass when idle.
        if (moved >= BigInt(Math.ceil(window / 2)) || (moved > 0n && idle))
          await moveCursor(tx, horizon)
        return { attempts: 0, more: moved >= BigInt(window) }
      }
      const ofTenant = await tenantTargets(events)
      const queues = new Map<string, NewDelivery[]>()
      const blocked = new Set<string>()
      const readAt = new Date(now())
      for (const event of events) {
        const recipient = recipientOf(event, ofTenant)
        if (recipient === undefined) continue
        const key = orderKeyOf(event)!
        const { type, data } = webhookOf(event)
        const delivery: NewDelivery = {
          // Derived from the event: sent again after a crash, it keeps its id.
          id: webhookIdOf(cursor.idNamespace, event.id),
          eventId: event.id,
          tenantId: recipient,
          grantId: event.grantId,
          orderKey: key,
          type,
          data,
          state: 'pending',
          attempts: 0,
          nextAttemptAt: readAt,
          lastAttemptAt: null,
          lastStatus: null,
          lastError: null,
          deliveredAt: null
        }
        if (event.blocked) blocked.add(key)
        const queue = queues.get(key)
        if (queue) queue.push(delivery)
        else queues.set(key, [delivery])
      }
      let attempts = 0
      /** A key's deliveries, one after another; the rest wait behind one to be retried. */
      const sendQueue = async (queue: NewDelivery[]) => {
        for (const delivery of queue) {
          const at = new Date(now())
          const { id, type, data, tenantId: recipient } = delivery
          const result = await send(recipient, ofTenant, { id, type, data: data! })
          attempts++
          const outcome = outcomeOf(result, 1, at)
          delivery.state = outcome.state
          delivery.attempts = 1
          delivery.nextAttemptAt = outcome.nextAttemptAt
          delivery.lastAttemptAt = at
          delivery.lastStatus = outcome.status
          delivery.lastError = outcome.error
          if (outcome.state === 'delivered') {
            delivery.deliveredAt = at
            // Never sent again: its body need not be kept.
            delivery.data = null
          }
          if (outcome.state === 'pending') return
        }
      }
      await Promise.all(
        // Behind a delivery waiting for its retry: queued (pending, tried after it).
        [...queues].map(([key, queue]) => (blocked.has(key) ? undefined : limit(sendQueue, queue)))
      )
      await insertDeliveries(tx, [...queues.values()].flat())
      await moveCursor(tx, horizon)
      return { attempts, more: moved >= BigInt(window) }
    })
  }

  /** Due retries (any process may take them), each the first waiting one of its grant. */
  async function retryDue(): Promise<{ attempts: number; more: boolean }> {
    const claimed = await claimDue(db, batchSize, options.timeoutMs + LEASE_MARGIN_MS)
    if (claimed.length === 0) return { attempts: 0, more: false }
    const ofTenant = await tenantTargets(claimed)
    const outcomes: AttemptOutcome[] = await Promise.all(
      claimed.map((delivery) =>
        limit(async () => {
          const at = new Date(now())
          const { id, type, data } = delivery
          const result = await send(delivery.tenantId, ofTenant, { id, type, data })
          const outcome = outcomeOf(result, delivery.attempts + 1, at)
          return { eventId: delivery.eventId, attemptedAt: at, ...outcome }
        })
      )
    )
    await recordAttempts(db, outcomes)
    return { attempts: claimed.length, more: claimed.length === batchSize }
  }

  // The first pass keeps the cursor up at once; later ones every IDLE_CURSOR_MS.
  let idleSince = -Infinity

  /**
   * With nowhere to send, the cursor still keeps up with the horizon (when no process moved it
   * for IDLE_CURSOR_MS): what happens meanwhile is not sent when webhooks are turned on.
   */
  async function keepUp(): Promise<void> {
    await db.transaction(async (tx) => {
      const cursor = await lockCursor(tx)
      if (cursor.locked && now() - cursor.updatedAt.getTime() > IDLE_CURSOR_MS) {
        await moveCursor(tx, null)
      }
    })
  }

  async function runPass(): Promise<{ attempts: number; more: boolean }> {
    // Nowhere to send (no WEBHOOK_URL, no tenant with a URL: asked of a cache): no transaction
    // at all, but once in a while the one that keeps the cursor up.
    if (!targets.global && !(await targets.anyTenant())) {
      if (now() - idleSince >= IDLE_CURSOR_MS) {
        idleSince = now()
        await keepUp()
      }
      return { attempts: 0, more: false }
    }
    const fresh = await readAndSend()
    const retried = await retryDue()
    return { attempts: fresh.attempts + retried.attempts, more: fresh.more || retried.more }
  }

  let running: Promise<unknown> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  function schedule(delayMs: number, intervalMs: number) {
    if (stopped) return
    timer = setTimeout(() => {
      running = runPass()
        .then(
          ({ more }) => (more ? 0 : intervalMs),
          (err: unknown) => {
            logger.warn({ err }, 'webhook pass failed; trying again')
            return intervalMs
          }
        )
        .then((next) => {
          running = undefined
          schedule(next, intervalMs)
        })
    }, delayMs)
    timer.unref()
  }

  return {
    runOnce: async () => (await runPass()).attempts,
    start(intervalMs) {
      stopped = false
      schedule(0, intervalMs)
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    }
  }
}
