import { STATUS_CODES, maxHeaderSize } from 'node:http'
import type { Socket } from 'node:net'
import type { ConnectionError } from 'fastify'

interface ClientErrorLog {
  info(obj: object, msg: string): void
}

/** What each failure of Node's HTTP parser is answered with; anything else is malformed (400). */
const answers: Readonly<Record<string, { status: number; description: string }>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    description: `request headers too large: the request line and headers may take ${maxHeaderSize} bytes`
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    description: 'request timeout: the request was not received in time'
  }
}
const malformed = { status: 400, description: 'malformed HTTP request' }

/** A whole HTTP/1.1 answer carrying the GNAP error envelope (RFC 9635 §3.6); the connection ends. */
export function clientErrorResponse(status: number, description: string): string {
  const body = JSON.stringify({ error: { code: 'invalid_request', description } })
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body
  ].join('\r\n')
}

/**
 * Fastify's `clientErrorHandler` (Node's `clientError` event): a request Node cannot parse (its
 * headers over the limit, a malformed request line or header, too slow to arrive) never reaches a
 * route, so it is answered here in the GNAP envelope instead of Node's or Fastify's own body,
 * naming no more than the kind of failure. Nothing is written while another answer is in flight
 * on the connection (a pipelined request's), which the client would take for that answer's, nor
 * once this one is written: Node reports each later chunk of a refused request again.
 */
export function createClientErrorHandler(log: ClientErrorLog) {
  const answered = new WeakSet<Socket>()
  return function answerClientError(err: ConnectionError, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return
    const inFlight = (socket as Socket & { _httpMessage?: unknown })._httpMessage
    if (!socket.writable || inFlight) {
      socket.destroy()
      return
    }
    const { status, description } = answers[err.code] ?? malformed
    // Never `err` itself: its rawPacket holds the request's bytes (tokens, signatures, cookies).
    log.info({ status, code: 'invalid_request', reason: err.code }, 'request refused')
    answered.add(socket)
    socket.end(clientErrorResponse(status, description), () => socket.destroy())
  }
}
