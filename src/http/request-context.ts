import type { FastifyRequest } from 'fastify'

/**
 * What a route's authentication hook established about a request (the verified client's grant,
 * the continuation, the token being managed, the IdP's interaction), handed to the route's
 * handler typed, which passes it to the service as an argument. Kept beside the request, not on
 * it: no other code can read it, and a handler whose hook did not run fails loudly (a wiring
 * bug, answered 500) instead of acting unauthenticated.
 */
export function requestContext<T>(what: string) {
  const byRequest = new WeakMap<FastifyRequest, T>()
  return {
    set(req: FastifyRequest, value: T): void {
      byRequest.set(req, value)
    },
    of(req: FastifyRequest): T {
      const value = byRequest.get(req)
      if (value === undefined) throw new Error(`no ${what} for this request: its hook did not run`)
      return value
    }
  }
}
