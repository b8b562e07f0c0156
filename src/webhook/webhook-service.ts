import type { Logger } from 'pino'
import type { EventService } from '../audit/event-service.js'
import type { EventOrigin } from '../audit/events.js'
import type { Db } from '../storage/db.js'
import type { TenantDirectory } from '../tenant/tenant-directory.js'
import { MAX_RETRY_DELAY_MS, type RetryPolicy } from './delivery-schedule.js'
import {
  createWebhookDeliverer,
  type AttemptResult,
  type WebhookDeliverer
} from './webhook-deliverer.js'
import { webhookSourceTypes } from './webhook-events.js'
import { createWebhookSender } from './webhook-sender.js'
import {
  deliveryStats,
  findDelivery,
  listDeliveries,
  oldestUnreadEventAt,
  purgeDeliveries,
  retryNow,
  type DeliveryFilter,
  type DeliveryView
} from './webhook-store.js'

export type { DeliveryView } from './webhook-store.js'

/** At most this many deliveries a page (the console's listing). */
export const MAX_DELIVERIES_PAGE = 200

export interface WebhookSettings {
  webhookUrl: string | undefined
  webhookSignatureSecret: string | undefined
  webhookTimeoutMs: number
  webhookMaxRetries: number
  webhookRetryDelayMs: number
}

/**
 * Webhooks: the deliverer (started by the server), and what the console and the metrics read of
 * the deliveries. A viewer's `tenantId` limits it to the deliveries to that tenant's own
 * receiver (the operator, with none, sees every one).
 */
export function createWebhookService(deps: {
  db: Db
  config: WebhookSettings
  tenants: Pick<TenantDirectory, 'webhookOf' | 'anyWebhook'>
  /** A retry asked by an operator goes into the audit trail. */
  events: Pick<EventService, 'record'>
  now: () => number
  logger: Pick<Logger, 'warn' | 'info'>
  onAttempt?: (result: AttemptResult) => void
}) {
  const { db, config } = deps
  const policy: RetryPolicy = {
    maxRetries: config.webhookMaxRetries,
    firstDelayMs: config.webhookRetryDelayMs,
    maxDelayMs: Math.max(MAX_RETRY_DELAY_MS, config.webhookRetryDelayMs)
  }
  const globalTarget =
    config.webhookUrl && config.webhookSignatureSecret
      ? { url: config.webhookUrl, secret: config.webhookSignatureSecret }
      : undefined

  /**
   * A deliverer with its own connections (closed by close): to the receivers, and one to the
   * database for the transaction that reads new events and holds its connection while it
   * sends them (opened when first used: not while there is nowhere to send).
   */
  function deliverer(): WebhookDeliverer & { close(): Promise<void> } {
    const reading = db.separate(1)
    const sender = createWebhookSender({
      timeoutMs: config.webhookTimeoutMs,
      connections: 32,
      now: deps.now
    })
    const running = createWebhookDeliverer({
      db,
      reading,
      sender,
      targets: {
        global: globalTarget,
        ofTenant: (id) => deps.tenants.webhookOf(id),
        anyTenant: () => deps.tenants.anyWebhook()
      },
      policy,
      timeoutMs: config.webhookTimeoutMs,
      now: deps.now,
      logger: deps.logger,
      onAttempt: deps.onAttempt
    })
    return {
      ...running,
      async close() {
        await running.stop()
        await sender.close()
        await reading.close()
      }
    }
  }

  return {
    policy,
    deliverer,
    list: (
      filter: DeliveryFilter,
      page: { limit: number; before?: string }
    ): Promise<DeliveryView[]> =>
      listDeliveries(db, filter, {
        ...page,
        limit: Math.min(Math.max(page.limit, 1), MAX_DELIVERIES_PAGE)
      }),
    find: (id: string, tenantId?: string): Promise<DeliveryView | undefined> =>
      findDelivery(db, id, tenantId),
    /**
     * Tried again at once, at an operator's word: written with its audit event (who asked,
     * from where) and logged once. False when it is delivered, being tried, or not the
     * caller's (`tenantId`: only those to that tenant's own receiver).
     */
    async retryNow(
      id: string,
      call: EventOrigin & { tenantId?: string; log: Pick<Logger, 'info'> }
    ): Promise<boolean> {
      const { tenantId, log, ...from } = call
      const retried = await db.transaction(async (tx) => {
        const delivery = await retryNow(tx, id, tenantId)
        if (!delivery) return undefined
        await deps.events.record(tx, {
          ...from,
          type: 'webhook.retried',
          tenantId: delivery.tenantId,
          grantId: delivery.grantId,
          details: { webhookId: id, webhookType: delivery.type, eventId: delivery.eventId }
        })
        return delivery
      })
      if (retried) {
        log.info(
          {
            event: 'webhook.retried',
            webhookId: id,
            eventId: retried.eventId,
            by: from.actor.kind
          },
          'webhook retry asked'
        )
      }
      return retried !== undefined
    },
    /** Deliveries by state, and the age (seconds) of the oldest event a receiver has not had. */
    async stats(): Promise<{
      pending: number
      delivered: number
      failed: number
      oldestUndeliveredSeconds: number
    }> {
      const sending = globalTarget !== undefined || (await deps.tenants.anyWebhook())
      const [counts, unread] = await Promise.all([
        deliveryStats(db),
        sending ? oldestUnreadEventAt(db, webhookSourceTypes) : null
      ])
      const oldest = [counts.oldestPendingAt, unread]
        .filter((d): d is Date => d !== null)
        .map((d) => d.getTime())
      const seconds = oldest.length ? (deps.now() - Math.min(...oldest)) / 1000 : 0
      return { ...counts, oldestUndeliveredSeconds: Math.max(0, seconds) }
    },
    /** The retention rule: delivered or given-up records older than WEBHOOK_RETENTION_DAYS. */
    purge: (limit: number, days: number): Promise<number> => purgeDeliveries(db, limit, days)
  }
}

export type WebhookService = ReturnType<typeof createWebhookService>
