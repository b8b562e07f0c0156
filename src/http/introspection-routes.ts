import type { FastifyInstance, FastifyRequest } from 'fastify'
import { IntrospectionRequestSchema, type IntrospectionRequest } from '../gnap/request-schemas.js'
import type { Metrics } from '../metrics/metrics.js'
import { resourceServerDiscovery } from '../gnap/discovery.js'
import type { TokenService } from '../token/token-service.js'
import type { VerifyResourceServer } from './resource-server-verifier.js'
import { requireJsonAccept } from './route-auth.js'

/**
 * Token introspection for resource servers (token-introspection.yaml, with RFC 9767 §3.3's
 * fields). Unauthenticated by default, as in Rafiki: the listener belongs on a network only the
 * resource servers reach. With INTROSPECTION_AUTH=signature (`verifyResourceServer` given), each
 * call must be signed by a listed resource server (RFC 9767 §3.2).
 */
export function registerIntrospectionRoutes(
  app: FastifyInstance,
  deps: {
    tokens: TokenService
    metrics: Metrics
    config: { authServerUrl: string; introspectionUrl: string }
    verifyResourceServer: VerifyResourceServer | undefined
  }
): void {
  const { verifyResourceServer } = deps
  // RFC 9767 §3.1, where resource servers already connect (the auth listener serves it too).
  const rsDocument = resourceServerDiscovery(deps.config)
  app.get('/.well-known/gnap-as-rs', { config: { auth: 'none' } }, () => rsDocument)
  async function authenticateResourceServer(req: FastifyRequest): Promise<void> {
    const name = await verifyResourceServer!(req)
    req.log = req.log.child({ resourceServer: name })
  }
  app.post(
    '/',
    {
      schema: { body: IntrospectionRequestSchema },
      ...(verifyResourceServer
        ? {
            config: { auth: 'resource-server-signature' as const },
            preHandler: [requireJsonAccept, authenticateResourceServer]
          }
        : { config: { auth: 'none' as const }, preHandler: requireJsonAccept })
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
