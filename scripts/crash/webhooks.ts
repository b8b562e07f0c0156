import { setTimeout as sleep } from 'node:timers/promises'
import {
  startWebhookReceiver,
  type ReceivedWebhook,
  type WebhookReceiver
} from '../../test/helpers/webhook-receiver.js'
import { webhookTypeOf, type WebhookSourceType } from '../../src/webhook/webhook-events.js'
import type { Snapshot } from './snapshot.js'

/*
 * Webhooks under the kills (issue 28): a receiver beside opas answers most webhooks 200 and
 * some 503 (so that retries run across the kills too). After the load, once opas says nothing
 * is left to deliver, every committed event of a webhook's type must have reached the receiver
 * with a 200, and nothing else may have: no webhook of a change that was rolled back. An event
 * may arrive twice (a kill between the receiver's 200 and the commit that writes it down: at
 * least once), but always with one id, and each grant's events first arrived in their order.
 */

export const WEBHOOK_SECRET = 'opas-crash-webhook-secret'
/** The share of attempts the receiver refuses. */
const REFUSED = 0.15
const CATCH_UP_LIMIT_MS = 120_000

export async function startCrashReceiver(): Promise<WebhookReceiver> {
  const receiver = await startWebhookReceiver(WEBHOOK_SECRET)
  receiver.answerWith(() => (Math.random() < REFUSED ? 503 : 200))
  return receiver
}

/** The settings that send opas's webhooks to `receiver`, retried quickly and never given up. */
export const webhookEnv = (receiver: WebhookReceiver): Record<string, string> => ({
  WEBHOOK_URL: receiver.url,
  WEBHOOK_SIGNATURE_SECRET: WEBHOOK_SECRET,
  WEBHOOK_RETRY_DELAY_MS: '100',
  WEBHOOK_MAX_RETRIES: '100'
})

/** A gauge's value in a Prometheus text exposition (the first series of that name). */
function gauge(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/**
 * Waits until opas's metrics say no webhook waits (nothing pending, no event unread); rejects
 * after CATCH_UP_LIMIT_MS.
 */
export async function waitWebhooksDelivered(adminUrl: string): Promise<void> {
  const deadline = Date.now() + CATCH_UP_LIMIT_MS
  let last = ''
  for (;;) {
    try {
      const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
      const text = await res.text()
      const pending = gauge(text, 'opas_webhook_queue{state="pending"}')
      const oldest = gauge(text, 'opas_webhook_oldest_undelivered_seconds')
      last = `pending ${pending}, oldest undelivered ${oldest} s`
      if (pending === 0 && oldest === 0) return
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline) {
      throw new Error(
        `webhooks not all delivered ${CATCH_UP_LIMIT_MS / 1000} s after the load: ${last}`
      )
    }
    await sleep(200)
  }
}

/** What the webhook check found, for the report. */
export interface WebhookTally {
  events: number
  received: number
  refused: number
  /** Events delivered (answered 200) more than once: a kill fell between the 200 and the commit. */
  repeated: number
}

export function checkWebhooks(
  db: Snapshot,
  received: readonly ReceivedWebhook[],
  expect: (ok: boolean, message: () => string) => boolean
): WebhookTally {
  const byEvent = new Map<string, ReceivedWebhook[]>()
  for (const hook of received) {
    expect(hook.signatureValid, () => `webhook ${hook.id} (${hook.type}): signature not valid`)
    const eventId = String(hook.data.auditEventId)
    const list = byEvent.get(eventId) ?? []
    list.push(hook)
    byEvent.set(eventId, list)
  }
  const committed = new Map(db.webhookEvents.map((e) => [e.id, e]))
  for (const event of db.webhookEvents) {
    const hooks = byEvent.get(event.id) ?? []
    const type = webhookTypeOf[event.type as WebhookSourceType]
    expect(
      hooks.some((h) => h.answered === 200),
      () => `event ${event.id} (${event.type}, grant ${event.grantId}) committed, never delivered`
    )
    expect(
      hooks.every((h) => h.type === type),
      () => `event ${event.id} (${event.type}) arrived as ${hooks.map((h) => h.type)}`
    )
    expect(
      new Set(hooks.map((h) => h.id)).size <= 1,
      () => `event ${event.id} arrived under several ids: ${hooks.map((h) => h.id)}`
    )
  }
  for (const [eventId, hooks] of byEvent) {
    expect(
      committed.has(eventId),
      () => `webhook ${hooks[0]!.id} (${hooks[0]!.type}) tells of event ${eventId}, never committed`
    )
  }
  // Each grant's events first arrived (with a 200) in the order they were written.
  const firstDelivered = new Map<string, string[]>()
  const seen = new Set<string>()
  for (const hook of received) {
    const eventId = String(hook.data.auditEventId)
    if (hook.answered !== 200 || seen.has(eventId)) continue
    seen.add(eventId)
    const grantId = String(hook.data.grantId ?? hook.data.tenantId)
    firstDelivered.set(grantId, [...(firstDelivered.get(grantId) ?? []), eventId])
  }
  for (const [grantId, order] of firstDelivered) {
    const sorted = [...order].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    expect(
      order.join() === sorted.join(),
      () => `grant ${grantId}: events delivered in the order ${order}, written ${sorted}`
    )
  }
  return {
    events: db.webhookEvents.length,
    received: received.length,
    refused: received.filter((h) => h.answered !== 200).length,
    repeated: [...byEvent.values()].filter((h) => h.filter((x) => x.answered === 200).length > 1)
      .length
  }
}
