import fastifyAccepts from '@fastify/accepts'
import fastifyCookie from '@fastify/cookie'
import fastifyCors from '@fastify/cors'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RouteOptions
} from 'fastify'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Services } from './deps.js'
import { createClientErrorHandler } from './http/client-error.js'
import { installErrorHandling, sendGnapError } from './http/error-handler.js'
import { registerAdminApiRoutes } from './http/admin-api-routes.js'
import { registerConsentRoutes } from './http/consent-routes.js'
import { registerConsoleRoutes } from './http/console-routes.js'
import { registerGnapRoutes } from './http/gnap-routes.js'
import { registerHealthRoutes } from './http/health-routes.js'
import { registerIdpRoutes } from './http/idp-routes.js'
import { registerInteractionRoutes } from './http/interaction-routes.js'
import { registerIntrospectionRoutes } from './http/introspection-routes.js'
import { registerJsonBody } from './http/json-body.js'
import { registerMetricsRoute } from './http/metrics-route.js'
import { refusalOf, tenantOf } from './http/refusal-log.js'
import { refuseBrowsers } from './http/refuse-browsers.js'
import { registerServiceApiRoutes } from './http/service-api-routes.js'
import { appliedVersion, latestVersion } from './storage/migrate.js'

export const listenerNames = ['auth', 'interaction', 'introspection', 'admin', 'service'] as const
export type ListenerName = (typeof listenerNames)[number]
export type Apps = Record<ListenerName, FastifyInstance>

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as declared, for the route-table test. */
    declaredRoutes: RouteOptions[]
  }
}

/**
 * An incoming `x-request-id` kept as the request's id: a caller's (or its proxy's) own id
 * carried through, as long as it cannot break a log line. Anything else gets a new UUID.
 */
const WELL_FORMED_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && WELL_FORMED_REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * The listeners that answer CORS: the auth listener alone. Browser-based GNAP clients (a web app
 * holding its own key) call the grant, continuation and token endpoints from their own origin, as
 * Rafiki lets them (koa/cors, any origin). That hands a page on another origin nothing: each of
 * those requests is authorised by the client's signature and its GNAP token, never by a cookie,
 * and without `Access-Control-Allow-Credentials` no browser shows a page the answer to a request
 * that carried the interaction cookie. The other listeners serve servers (the IdP's back channel,
 * resource servers, Rafiki's backend) and operators (the console is its own origin): no web page
 * has any business calling them, and with CORS any page a developer or operator opened could
 * drive them, the service API's tenant changes included (issue 24).
 */
const corsListeners: readonly ListenerName[] = ['auth']

async function createListenerApp(name: ListenerName, services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.logger.child({ listener: name }) as FastifyBaseLogger,
    // Every log line of a request carries its id (reqId), and every answer says it.
    genReqId: requestIdOf,
    requestIdHeader: false,
    // One line per refused request (onResponse below) instead of two per request.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: services.config.trustProxy,
    // `/{tenant}/` is `/{tenant}`, as in Rafiki (koa-router is not strict): the .NET and PHP
    // SDKs add the slash to grant and continuation URLs. Signatures are still checked against
    // the URL the client used (client-verifier).
    routerOptions: { ignoreTrailingSlash: true },
    // Larger bodies are refused with 413 before they are read further.
    bodyLimit: services.config.requestBodyLimitBytes,
    // Finish in-flight requests on close instead of answering them with Fastify's own 503 body.
    return503OnClosing: false,
    // Errors Fastify raises before routing (a malformed percent-encoding, an over-long path
    // segment) get the GNAP envelope too, without echoing the path (it may carry a nonce).
    frameworkErrors: (error, req, reply) => {
      void reply.header('x-request-id', req.id)
      const status =
        error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 400
      void sendGnapError(reply, status, 'invalid_request', 'invalid request URL')
    },
    // A request Node cannot parse (headers over the limit, malformed) gets the GNAP envelope too.
    clientErrorHandler: createClientErrorHandler(services.logger.child({ listener: name })),
    ajv: {
      customOptions: {
        // Refuse what the schema does not allow instead of silently dropping or converting it.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        discriminator: true
      }
    }
  })
  app.decorate('declaredRoutes', [] as RouteOptions[])
  app.addHook('onRoute', (route) => {
    // @fastify/cors answers preflights on its own `OPTIONS *` route, unauthenticated by design
    // (no handler of ours runs); declared here because the plugin cannot declare it itself.
    if (route.method === 'OPTIONS' && route.url === '*' && route.config?.auth === undefined) {
      route.config = { ...route.config, auth: 'none' }
    }
    app.declaredRoutes.push(route)
  })
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id)
    done()
  })
  registerJsonBody(app)
  installErrorHandling(app, {
    consolePages: name === 'admin' && services.config.console === 'on'
  })
  await app.register(fastifyAccepts)
  if (corsListeners.includes(name)) {
    await app.register(fastifyCors, {
      origin: '*',
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      // A bare OPTIONS (no preflight headers) is answered like a preflight rather than with the
      // plugin's plain-text 400 (on a grant endpoint it asks for discovery: gnap-routes).
      strictPreflight: false
    })
  }
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL: interaction URLs carry nonces.
    const route = req.routeOptions.url
    services.metrics.request(
      name,
      route ?? 'unmatched',
      req.method,
      reply.statusCode,
      reply.elapsedTime / 1000
    )
    const entry = { method: req.method, route, status: reply.statusCode, ms: reply.elapsedTime }
    if (reply.statusCode >= 400) {
      const refusal = refusalOf(req)
      // As in the last hour's latency (metrics.request): the operator's own listener is left out.
      if (name !== 'admin') {
        services.metrics.refused(refusal?.code ?? `http_${reply.statusCode}`, tenantOf(req))
      }
      req.log.info({ ...entry, ...refusal }, 'request refused')
    } else req.log.debug(entry, 'request completed')
  })
  // Only Rafiki's backend calls the service API: what a browser sends is refused before routing,
  // probes included (a DNS-rebound page is same-origin to it, CORS or not).
  if (name === 'service') app.addHook('onRequest', refuseBrowsers)
  if (name === 'auth' && services.config.rateLimitPerIp > 0) {
    // The public listener: every request counts against its address before any work is done
    // (the client's own budget is counted once its signature is verified: client-verifier).
    app.addHook('onRequest', async (req) => {
      if (req.routeOptions.config?.rateLimit !== false) await services.rateLimits.consumeIp(req.ip)
    })
  }
  registerHealthRoutes(app, {
    schema: { appliedVersion: () => appliedVersion(services.db), latestVersion }
  })
  return app
}

/** The Fastify apps of every listener, ready to `listen()` or to `inject()` in tests. */
export async function buildApps(services: Services): Promise<Apps> {
  const auth = await createListenerApp('auth', services)
  await auth.register(fastifyCookie, { secret: services.config.cookieKey })
  registerGnapRoutes(auth, services)
  registerInteractionRoutes(auth, services)
  if (services.config.consentScreen === 'builtin') {
    registerConsentRoutes(auth, { ...services, authServerUrl: services.config.authServerUrl })
  }

  const interaction = await createListenerApp('interaction', services)
  registerIdpRoutes(interaction, services)

  const introspection = await createListenerApp('introspection', services)
  registerIntrospectionRoutes(introspection, services)

  // Operators only (metrics, the admin GraphQL API, the console): bind it to a private network.
  const admin = await createListenerApp('admin', services)
  registerMetricsRoute(admin, services.metrics)
  if (services.consoleSessions) {
    await admin.register(fastifyCookie, { secret: services.consoleSessions.cookieSecret })
    registerConsoleRoutes(admin, { ...services, sessions: services.consoleSessions })
  }
  registerAdminApiRoutes(admin, {
    graphql: services.graphql,
    tenants: services.tenants,
    replay: services.replay,
    operatorTenantId: services.config.operatorTenantId,
    signatureVersion: services.config.adminApiSignatureVersion,
    signatureTtlSeconds: services.config.adminApiSignatureTtlSeconds,
    now: services.now
  })

  // Rafiki's service API: the backend manages tenants here. Keep it on a private network
  // (SERVICE_API_LISTEN_HOST); production refuses it beyond loopback without a secret unless
  // SERVICE_API_AUTH=none says the network is private (config/listener-checks.ts).
  const service = await createListenerApp('service', services)
  registerServiceApiRoutes(service, {
    tenants: services.tenantOperations,
    serviceApiSecret: services.config.serviceApiSecret
  })

  const apps = { auth, interaction, introspection, admin, service }
  await Promise.all(Object.values(apps).map((app) => app.ready()))
  return apps
}
