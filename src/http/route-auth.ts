import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalidRequest } from '../gnap/gnap-error.js'

/** How a route authenticates its caller; the route-table test checks every route declares one. */
export const routeAuthKinds = [
  'client-signature',
  'idp-secret',
  'browser-session',
  // The service API's bearer token (SERVICE_API_SECRET), when one is configured: without one
  // (SERVICE_API_AUTH=none, or loopback), the listener's bind address is what keeps callers out
  // (config/listener-checks.ts); a browser is refused either way (refuse-browsers.ts).
  'service-secret',
  // The admin API: an HMAC of the body with the tenant's API secret (tenant/api-signature.ts).
  'tenant-signature',
  // The operator console: a signed session cookie, and on every form the session's token.
  'console-session',
  // The console's sign-in form: the tenant's id and API secret, the form's nonce-bound token.
  'console-sign-in',
  // Introspection under INTROSPECTION_AUTH=signature: a listed resource server's signature.
  'resource-server-signature',
  'none'
] as const
export type RouteAuthKind = (typeof routeAuthKinds)[number]

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuthKind
    /** false: not counted by the per-IP rate limit (health probes). */
    rateLimit?: false
    /**
     * A link a browser opens: a refusal is a page for a browser, GNAP JSON for the rest;
     * `console`: the operator console's pages, whose refusals are console pages for anyone.
     */
    browserPages?: true | 'console'
    /** A GraphQL endpoint: every refusal is GraphQL's `{"errors":[…]}`. */
    graphqlErrors?: true
    /** An OPTIONS that answers discovery (RFC 9635 §9) on a grant endpoint (gnap-routes). */
    discovery?: true
    /** @fastify/cors' options for one route, over the listener's (app.ts). */
    cors?: { preflightContinue?: boolean }
  }
}

/**
 * 406 unless the client accepts JSON (a missing Accept or a wildcard passes), as Rafiki's
 * OpenAPI validator answers, but inside the GNAP envelope.
 */
export async function requireJsonAccept(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const accept = req.headers.accept
  // What the SDKs send, decided without a full content negotiation.
  if (accept === undefined || accept === 'application/json' || accept === '*/*') return
  if (req.accepts().type(['application/json']) === false) {
    throw invalidRequest('Must accept application/json', 406)
  }
}

/** A browser asking for a page (navigations and form posts send `Accept: text/html,...`). */
export const acceptsHtml = (req: FastifyRequest): boolean =>
  req.headers.accept?.includes('text/html') === true
