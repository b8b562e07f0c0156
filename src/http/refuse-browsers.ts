import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendErrorEnvelope } from './error-handler.js'

/**
 * An `onRequest` hook for a listener that only servers call (the service API): a request a web
 * browser sent is refused with 403. Browsers put `Origin` on every request but a GET or HEAD
 * (Fetch standard, "append a request `Origin` header") and `Sec-Fetch-Site` on every request
 * (Fetch Metadata, in every current browser); server-side HTTP clients, Node's fetch among them
 * (Rafiki's backend), send neither. Without CORS a page on another origin can neither read an
 * answer nor send a DELETE or a JSON body, but a page whose host name the attacker rebinds to
 * this address (DNS rebinding) counts as the same origin, and a form can still POST: this
 * refuses both, whether or not the listener has a secret.
 */
export async function refuseBrowsers(
  req: FastifyRequest,
  reply: FastifyReply
): Promise<FastifyReply | undefined> {
  if (req.headers.origin === undefined && req.headers['sec-fetch-site'] === undefined) return
  return sendErrorEnvelope(
    reply,
    403,
    'request_denied',
    'this API is for servers: a request from a browser (with Origin or Sec-Fetch-Site) is refused'
  )
}
