import { Agent, request } from 'undici'
import { canonicalize } from 'json-canonicalize'
import { signCanonical, type WebhookBody } from './webhook-signature.js'

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

/**
 * Sends webhooks: a POST of the JSON body with its `Rafiki-Signature`, answered within
 * `timeoutMs` (WEBHOOK_TIMEOUT_MS, the whole exchange). Connections are kept alive and shared
 * (at most `connections` to one receiver); a redirect is not followed (it is not a 200).
 */
export function createWebhookSender(options: {
  timeoutMs: number
  connections: number
  now?: () => number
}) {
  const now = options.now ?? Date.now
  const agent = new Agent({
    connections: options.connections,
    keepAliveTimeout: 10_000,
    connectTimeout: options.timeoutMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs
  })
  return {
    async send(target: WebhookTarget, body: WebhookBody): Promise<SendResult> {
      // The body is sent in its JCS form, the one signed: serialized once.
      const json = canonicalize(body)
      try {
        const response = await request(target.url, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            'content-type': 'application/json',
            'rafiki-signature': signCanonical(json, target.secret, now()),
            'user-agent': 'opas-webhooks'
          },
          body: json,
          signal: AbortSignal.timeout(options.timeoutMs)
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
    close: (): Promise<void> => agent.close()
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
  if (
    e?.name === 'TimeoutError' ||
    (e?.code?.startsWith('UND_ERR_') && e.code.endsWith('TIMEOUT'))
  ) {
    return `no answer within ${timeoutMs} ms (WEBHOOK_TIMEOUT_MS)`
  }
  const message = e?.cause?.message ?? e?.message ?? String(err)
  const code = e?.cause?.code ?? e?.code
  const text = code && !message.includes(code) ? `${code}: ${message}` : message
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text
}
