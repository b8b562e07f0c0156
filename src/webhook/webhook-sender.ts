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
  const addresses = new Map<string, { origin: string; path: string }>()

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

  /** A receiver's URL as its origin and path, parsed once (it throws for a bad one). */
  function addressOf(url: string): { origin: string; path: string } {
    let address = addresses.get(url)
    if (address) return address
    if (addresses.size >= MAX_RECEIVERS) addresses.clear()
    const parsed = new URL(url)
    address = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` }
    addresses.set(url, address)
    return address
  }

  return {
    send(target: WebhookTarget, body: WebhookBody): Promise<SendResult> {
      const { json, header } = signWebhook(body, target.secret, now())
      return new Promise<SendResult>((resolve) => {
        let status: number | null = null
        let read = 0
        const answered = () => resolve(resultOf(status!))
        try {
          const { origin, path } = addressOf(target.url)
          // undici's handler interface, not request(): no stream is made for an answer whose
          // words are not kept (it is read and dropped, so that the connection is reused).
          poolOf(origin).dispatch(
            {
              method: 'POST',
              path,
              headers: {
                'content-type': 'application/json',
                'rafiki-signature': header,
                'user-agent': 'opas-webhooks'
              },
              body: json
            },
            {
              // Its presence says this handler speaks undici's newer interface.
              onRequestStart() {},
              onResponseStart(_controller, statusCode) {
                status = statusCode
              },
              onResponseData(controller, chunk) {
                read += chunk.length
                // The status is what counts; a receiver's long answer is not read on.
                if (read > MAX_ANSWER_BYTES) {
                  answered()
                  controller.abort(new Error('the answer is too long'))
                }
              },
              onResponseEnd: answered,
              onResponseError(_controller, err) {
                // Once the status has come, it decides (an answer cut short is still one).
                if (status !== null) answered()
                else resolve(failed(err, options.timeoutMs))
              }
            }
          )
        } catch (err) {
          resolve(failed(err, options.timeoutMs))
        }
      })
    },
    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((pool) => pool.close().catch(() => {})))
      pools.clear()
    }
  }
}

/** The longest answer read (and dropped) from a receiver. */
const MAX_ANSWER_BYTES = 64 * 1024

function resultOf(status: number): SendResult {
  if (status === 200) return { delivered: true, status: 200 }
  return { delivered: false, status, error: `the receiver answered ${status}, not 200` }
}

const failed = (err: unknown, timeoutMs: number): SendResult => ({
  delivered: false,
  status: null,
  error: describeFailure(err, timeoutMs)
})

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
