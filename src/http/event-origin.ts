import type { FastifyRequest } from 'fastify'
import type { Actor, EventOrigin } from '../audit/events.js'

/**
 * Who made a change through this request, and from where, for its audit event: the request's
 * id (x-request-id, as its log lines carry) and the caller's address (the proxy's client address
 * when TRUST_PROXY says to believe it).
 */
export const requestOrigin = (req: FastifyRequest) => ({
  requestId: req.id,
  remoteAddress: req.ip
})

/** The request's origin with who acted. */
export const originOf = (req: FastifyRequest, actor: Actor): EventOrigin => ({
  actor,
  ...requestOrigin(req)
})
