import type { FastifyRequest } from 'fastify'

/** Why a request was refused, for its `request refused` log line (never a secret or token). */
export interface Refusal {
  /** The code the client was given: a GNAP code, the service API's, or GraphQL's. */
  code: string
  /** The description the client was given. */
  description: string
  /** A finer cause than the description, where one is known (a signature's failure reason). */
  reason?: string
}

const refusals = new WeakMap<FastifyRequest, Refusal>()

/** Records the refusal a request is being answered with. */
export function noteRefusal(req: FastifyRequest, refusal: Refusal): void {
  refusals.set(req, refusal)
}

/** The refusal recorded for a request, if any. */
export const refusalOf = (req: FastifyRequest): Refusal | undefined => refusals.get(req)

const tenants = new WeakMap<FastifyRequest, string>()

/**
 * Records the tenant a request concerns, once a route has found it (its grant endpoint, its
 * continuation, its token): a refusal from then on counts in that tenant's own hour as well.
 */
export function noteTenant(req: FastifyRequest, tenantId: string): void {
  tenants.set(req, tenantId)
}

/** The tenant recorded for a request, if any. */
export const tenantOf = (req: FastifyRequest): string | undefined => tenants.get(req)
