import type { FastifyInstance } from 'fastify'
import { IntrospectionRequestSchema, type IntrospectionRequest } from '../gnap/request-schemas.js'
import type { Metrics } from '../metrics/metrics.js'
import { resourceServerDiscovery } from '../gnap/discovery.js'
import type { TokenService } from '../token/token-service.js'
import { requireJsonAccept } from './route-auth.js'

/**
 * Token introspection for resource servers (token-introspection.yaml). Unauthenticated, as in
 * Rafiki: the listener belongs on a network only the resource server reaches.
 */
export function registerIntrospectionRoutes(
  app: FastifyInstance,
  deps: {
    tokens: TokenService
    metrics: Metrics
    config: { authServerUrl: string; introspectionUrl: string }
  }
): void {
  // RFC 9767 §3.1, where resource servers already connect (the auth listener serves it too).
  app.get('/.well-known/gnap-as-rs', { config: { auth: 'none' } }, () =>
    resourceServerDiscovery({
      grantRequestEndpoint: `${deps.config.authServerUrl}/`,
      introspectionEndpoint: `${deps.config.introspectionUrl}/`
    })
  )
  app.post(
    '/',
    {
      schema: { body: IntrospectionRequestSchema },
      config: { auth: 'none' },
      preHandler: requireJsonAccept
    },
    async (req, reply) => {
      const { response, tenantId } = await deps.tokens.introspect(req.body as IntrospectionRequest)
      deps.metrics.introspected(response.active, tenantId)
      // What a token grants is not for a cache to keep (RFC 9767 §3.3's example).
      void reply.header('cache-control', 'no-store')
      return response
    }
  )
}
