import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { canonicalize } from 'json-canonicalize'

/** A webhook as a receiver got it, with what its signature check said. */
export interface ReceivedWebhook {
  id: string
  type: string
  data: Record<string, unknown>
  headers: IncomingHttpHeaders
  raw: string
  /** Rafiki's check (below) passed with the receiver's secret. */
  signatureValid: boolean
  /** The status the receiver answered. */
  answered: number
}

/**
 * Rafiki's documented check of `Rafiki-Signature`, as its point-of-sale service runs it
 * (packages/point-of-sale/src/webhook-handlers/middleware.ts), written here on its own rather
 * than imported from opas: the header split on ", ", the version compared, the HMAC-SHA256 of
 * `<t>.<JCS(body)>` with the secret, compared in constant time.
 */
export function rafikiVerify(header: string | undefined, body: unknown, secret: string): boolean {
  if (!header) return false
  const parts = header.split(', ')
  if (parts.length !== 2) return false
  const timestamp = parts[0]!.split('=')[1]
  const [versionPart, digest] = parts[1]!.split('=')
  if (versionPart!.replace('v', '') !== '1' || !digest) return false
  const expected = createHmac('sha256', secret)
    .update(`${timestamp}.${canonicalize(body)}`)
    .digest('hex')
  return (
    expected.length === digest.length && timingSafeEqual(Buffer.from(expected), Buffer.from(digest))
  )
}

export interface WebhookReceiver {
  url: string
  /** Every request, in the order it arrived (failed attempts too). */
  received: ReceivedWebhook[]
  /** Those answered 200. */
  delivered(): ReceivedWebhook[]
  /** What to answer the next requests (200 unless told otherwise). */
  answerWith(status: (webhook: Omit<ReceivedWebhook, 'answered'>) => number): void
  /** Resolves once `predicate` holds of what was received; rejects after `timeoutMs`. */
  waitFor(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** A local receiver of webhooks signed with `secret`: it records and checks each one. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = []
  let status: (webhook: Omit<ReceivedWebhook, 'answered'>) => number = () => 200
  const waiters = new Set<() => void>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let body: { id: string; type: string; data: Record<string, unknown> }
      try {
        body = JSON.parse(raw)
      } catch {
        res.writeHead(400).end()
        return
      }
      const header = req.headers['rafiki-signature']
      const webhook = {
        ...body,
        headers: req.headers,
        raw,
        signatureValid: rafikiVerify(typeof header === 'string' ? header : undefined, body, secret)
      }
      const answered = status(webhook)
      received.push({ ...webhook, answered })
      res.writeHead(answered, { 'content-type': 'application/json' }).end('{}')
      for (const wake of waiters) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    delivered: () => received.filter((w) => w.answered === 200),
    answerWith(next) {
      status = next
    },
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(
            new Error(
              `webhooks not as awaited after ${timeoutMs} ms; received: ${JSON.stringify(
                received.map((w) => [w.type, w.id, w.answered])
              )}`
            )
          )
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
