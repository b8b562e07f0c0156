import { Pool } from 'undici'
import { signWebhook, type WebhookBody } from './webhook-signature.js'

/** Where a webhook goes, and the secret it is signed with. */
export interface WebhookTarget {
  url: string
  secret: string
}

/** An attempt's result: delivered only on a 200, as Rafiki's backend counts it. */
export type SendResult =
  { delivered: true; status: 200 } | { delivered: false; status: number | null; error: string }

/** The longest error kept for the console (a receiver's words are not kept, only its status). */
const MAX_ERROR_LENGTH = 300

/** Receivers kept connections to at most (a pool each, the oldest closed beyond). */
const MAX_RECEIVERS = 1000

/**
 * Sends webhooks: a POST of the JSON body with its `Rafiki-Signature`. Each receiver (origin)
 * has a pool of kept-alive connections (at most `connections`); connecting, the answer's
 * headers and each part of its body must each come within `timeoutMs` (WEBHOOK_TIMEOUT_MS).
 * The pool's own timers bound the exchange: a timer of our own per request (AbortSignal) cost
 * a third of the sender's CPU. A redirect is not followed (it is not a 200).
 */
export function createWebhookSender(options: {
  timeoutMs: number
  connections: number
  now?: () => number
}) {
  const now = options.now ?? Date.now
  const pools = new Map<string, Pool>()

  function poolOf(origin: string): Pool {
    let pool = pools.get(origin)
    if (pool) return pool
    if (pools.size >= MAX_RECEIVERS) {
      const [oldest, old] = pools.entries().next().value as [string, Pool]
      pools.delete(oldest)
      void old.close().catch(() => {})
    }
    pool = new Pool(origin, {
      connections: options.connections,
      keepAliveTimeout: 10_000,
      connectTimeout: options.timeoutMs,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs
    })
    pools.set(origin, pool)
    return pool
  }

  return {
    async send(target: WebhookTarget, body: WebhookBody): Promise<SendResult> {
      const { json, header } = signWebhook(body, target.secret, now())
      try {
        const url = new URL(target.url)
        const response = await poolOf(url.origin).request({
          method: 'POST',
          path: `${url.pathname}${url.search}`,
          headers: {
            'content-type': 'application/json',
            'rafiki-signature': header,
            'user-agent': 'opas-webhooks'
          },
          body: json
        })
        // Read and dropped, so that the connection is reused; a receiver's words are not kept.
        await response.body.dump({ limit: 64 * 1024 }).catch(() => {})
        if (response.statusCode === 200) return { delivered: true, status: 200 }
        return {
          delivered: false,
          status: response.statusCode,
          error: `the receiver answered ${response.statusCode}, not 200`
        }
      } catch (err) {
        return { delivered: false, status: null, error: describeFailure(err, options.timeoutMs) }
      }
    },
    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((pool) => pool.close().catch(() => {})))
      pools.clear()
    }
  }
}

export type WebhookSender = ReturnType<typeof createWebhookSender>

/** A failed exchange in a few words: no answer in time, a refused connection, a bad address. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as {
    name?: string
    code?: string
    message?: string
    cause?: { code?: string; message?: string }
  }
  const code = e?.code ?? ''
  if (/^UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT$/.test(code)) {
    return `no answer within ${timeoutMs} ms (WEBHOOK_TIMEOUT_MS)`
  }
  const message = e?.cause?.message ?? e?.message ?? String(err)
  const causeCode = e?.cause?.code ?? e?.code
  const text = causeCode && !message.includes(causeCode) ? `${causeCode}: ${message}` : message
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text
}
