import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { invalidClient, invalidContinuation, invalidRequest } from '../gnap/gnap-error.js'
import {
  ContinueRequestSchema,
  GrantRequestSchema,
  type ContinueRequest,
  type GrantRequest
} from '../gnap/request-schemas.js'
import { isUuid } from '../gnap/wire.js'
import {
  grantEndpointDiscovery,
  rafikiDiscovery,
  resourceServerDiscovery
} from '../gnap/discovery.js'
import { clientIdentityOf, type ClientIdentity } from '../gnap/client-identity.js'
import type { Continuation, GrantService } from '../grant/grant-service.js'
import type { Metrics } from '../metrics/metrics.js'
import { SignatureError } from '../http-signatures/index.js'
import { publicJwk, type PublicJwk } from '../client-keys/index.js'
import type { Replay, Replayed } from '../replay/replay-guard.js'
import type { Tenant, TenantDirectory } from '../tenant/tenant-directory.js'
import type { ManagedToken, TokenService } from '../token/token-service.js'
import { parseGnapAuthorization } from '../token/token-value.js'
import type { VerifyClient } from './client-verifier.js'
import { logGrantEvent } from '../grant/grant-events.js'
import { noteTenant } from './refusal-log.js'
import { requestContext } from './request-context.js'
import { requireJsonAccept } from './route-auth.js'
import { requestOrigin } from './event-origin.js'

/** What each route's hook authenticated, for its handler (request-context). */
const grantRequest = requestContext<{
  tenant: Tenant
  client: ClientIdentity
  replay: Replay
  clientKey: PublicJwk | null
}>('verified grant request')
const continuation = requestContext<Continuation>('authenticated continuation')
const managedToken = requestContext<{ token: ManagedToken; replay: Replay }>('managed token')

/**
 * A service found the request's signature recorded already, when its statement came to record
 * it (replay-guard): answered as the signature's refusal, 401 `invalid_client`.
 */
function unlessReplayed<T extends object>(res: T | Replayed): T {
  if ('replayed' in res) throw new SignatureError('replayed')
  return res
}

export interface GnapRouteDeps {
  grants: GrantService
  tokens: TokenService
  tenants: TenantDirectory
  verifyClient: VerifyClient
  metrics: Metrics
  config: { authServerUrl: string; introspectionUrl: string; operatorTenantId: string }
}

/** The access types a grant response hands out (an access token's items, or a subject). */
function issuedTypes(res: {
  access_token?: { access: readonly { type: string }[] }
  subject?: unknown
}): string[] {
  const types = res.access_token?.access.map((a) => a.type) ?? []
  return res.subject === undefined ? types : [...types, 'subject']
}

type IdParams = { id: string }

/** The path the client called, without its query. */
const pathOf = (req: FastifyRequest) => req.url.split('?', 1)[0]!

/**
 * The interaction reference of a continuation (RFC 9635 §5.1), or undefined for a poll (§5.2).
 * A poll is an empty body or `{}` (Rafiki); the PHP SDK also sends its `client` in every
 * continuation, and the Rust SDK, which cannot leave the reference out, polls with an empty one.
 * The client is known from the grant and its signature (§7.3), so a `client` member is ignored.
 * Any other body without a reference is refused, as by Rafiki.
 */
function interactRefOf(body: ContinueRequest): string | undefined {
  const { interact_ref: ref, ...others } = body ?? {}
  if (ref !== undefined && ref !== '') return ref
  if (Object.keys(others).some((member) => member !== 'client')) {
    // Rafiki's status for a continuation body without a reference.
    throw invalidRequest('missing interaction reference', 401)
  }
  return undefined
}

/** The GNAP client API on the auth listener (Open Payments auth-server spec v1.3). */
export function registerGnapRoutes(app: FastifyInstance, deps: GnapRouteDeps): void {
  const { grants, tokens, tenants, verifyClient, metrics, config } = deps

  // Grant request: the tenant is resolved before the signature, so an unknown tenant never
  // makes the server fetch a client-chosen URL (Rafiki weakness §12.1).
  const grantTenantId = (req: FastifyRequest) =>
    (req.params as { tenantId?: string }).tenantId ?? config.operatorTenantId
  async function verifyGrantRequest(req: FastifyRequest): Promise<void> {
    const tenantId = grantTenantId(req)
    const tenant = isUuid(tenantId) ? await tenants.find(tenantId) : undefined
    // An unknown tenant is an unknown grant endpoint: 404, as Rafiki.
    if (!tenant) throw invalidRequest('unknown tenant', 404)
    noteTenant(req, tenant.id)
    const client = clientIdentityOf((req.body as GrantRequest).client)
    const { replay, keyid, key } = await verifyClient(req, client, {
      deferReplay: true,
      repeatable: true
    })
    // The key the grant's tokens are bound to (RFC 9767 §3.3 `key`); a directed-identity
    // client's is its JWK, stored as such.
    const clientKey = client.kind === 'walletAddress' ? publicJwk(key, keyid) : null
    grantRequest.set(req, { tenant, client, replay, clientKey })
  }

  // RFC 9635 §5: the continuation token is presented as `Authorization: GNAP <token>` and the
  // request is signed by the grant's client.
  async function authenticateContinuation(req: FastifyRequest): Promise<void> {
    const { id } = req.params as IdParams
    const token = parseGnapAuthorization(req.headers.authorization)
    if (token === undefined) throw invalidContinuation('missing continuation information')
    const found = await grants.findContinuation(id, token)
    noteTenant(req, found.tenantId)
    await verifyClient(req, found.client)
    continuation.set(req, found)
  }

  // RFC 9635 §6: token management requires the very token being managed (Rafiki accepted any
  // signed request, weakness §12.5) and the grant's client signature.
  async function authenticateToken(req: FastifyRequest): Promise<void> {
    const { id } = req.params as IdParams
    const token = parseGnapAuthorization(req.headers.authorization)
    // The PHP SDK's rotation sends no Authorization at all: say so rather than "invalid".
    if (token === undefined) throw invalidClient('missing access token')
    const found = await tokens.findManaged(id, token)
    noteTenant(req, found.tenantId)
    // Rotation records the signature itself; revocation has it claimed here.
    const { replay } = await verifyClient(req, found.client, { deferReplay: req.method === 'POST' })
    managedToken.set(req, { token: found, replay })
  }

  const grantRoute = {
    schema: { body: GrantRequestSchema },
    config: { auth: 'client-signature' as const },
    preHandler: [requireJsonAccept, verifyGrantRequest]
  }
  const grantHandler = async (req: FastifyRequest) => {
    const { tenant, client, replay, clientKey } = grantRequest.of(req)
    const { grantId, response } = unlessReplayed(
      await grants.requestGrant({
        tenant,
        client,
        clientKey,
        // The hash binds the finish redirect to the grant endpoint the client called (§4.2.3).
        grantUri: `${config.authServerUrl}/${(req.params as { tenantId?: string }).tenantId ?? ''}`,
        request: req.body as GrantRequest,
        replay,
        from: requestOrigin(req)
      })
    )
    const grant = { grantId, tenantId: tenant.id, client }
    if ('interact' in response) {
      metrics.grantPending()
      logGrantEvent(req.log, 'requested', grant)
    } else {
      metrics.grantIssued(issuedTypes(response), tenant.id)
      logGrantEvent(req.log, 'issued', grant)
    }
    return response
  }
  // Rafiki's discovery document, with an absolute grant endpoint (RFC 9635 §9 requires one;
  // Rafiki's relative "/" is wrong for a multi-tenant server).
  const rafikiDocument = rafikiDiscovery(`${config.authServerUrl}/`)
  app.get('/discovery', { config: { auth: 'none' } }, () => rafikiDocument)
  // RFC 9635 §9: OPTIONS on a grant endpoint answers discovery, with the RFC's field names and
  // the URL the client called (it MUST match). A tenant's endpoint exists only for a tenant.
  // @fastify/cors answers every OPTIONS as a preflight in its own hook; here it adds its headers
  // and lets the route answer (preflightContinue), so that a browser's preflight (it carries
  // Access-Control-Request-Method) is still a bare 204 and web clients keep calling the grant
  // endpoint, and every other request is left as it was.
  const discover = async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.headers['access-control-request-method'] !== undefined) return reply.code(204).send()
    const tenantId = (req.params as { tenantId?: string }).tenantId
    if (tenantId !== undefined && !(isUuid(tenantId) && (await tenants.find(tenantId)))) {
      throw invalidRequest('unknown tenant', 404)
    }
    return grantEndpointDiscovery(config.authServerUrl + pathOf(req))
  }
  const discoveryRoute = {
    config: {
      auth: 'none' as const,
      discovery: true as const,
      cors: { preflightContinue: true }
    }
  }
  app.options('/', discoveryRoute, discover)
  app.options('/:tenantId', discoveryRoute, discover)
  // RFC 9767 §3.1: the resource servers' discovery document, beside the grant endpoint.
  const rsDocument = resourceServerDiscovery(config)
  app.get('/.well-known/gnap-as-rs', { config: { auth: 'none' } }, () => rsDocument)
  app.post('/', grantRoute, grantHandler)
  app.post('/:tenantId', grantRoute, grantHandler)

  const continuationRoute = {
    config: { auth: 'client-signature' as const },
    preHandler: [requireJsonAccept, authenticateContinuation]
  }
  app.post(
    '/continue/:id',
    { ...continuationRoute, schema: { body: ContinueRequestSchema } },
    async (req) => {
      const continued = continuation.of(req)
      const res = await grants.continueGrant(
        continued,
        interactRefOf(req.body as ContinueRequest),
        requestOrigin(req)
      )
      // Still pending answers only a continuation (RFC 9635 §5.2); an issued grant hands out
      // a token or a subject.
      const types = issuedTypes(res)
      if (types.length > 0) {
        metrics.grantIssued(types, continued.tenantId)
        logGrantEvent(req.log, 'issued', continued)
      }
      return res
    }
  )
  app.delete('/continue/:id', continuationRoute, async (req, reply) => {
    const cancelled = continuation.of(req)
    await grants.cancelGrant(cancelled, requestOrigin(req))
    metrics.revoked('grant')
    logGrantEvent(req.log, 'revoked', cancelled)
    return reply.code(204).send()
  })

  const tokenRoute = {
    config: { auth: 'client-signature' as const },
    preHandler: [requireJsonAccept, authenticateToken]
  }
  app.post('/token/:id', tokenRoute, async (req) => {
    const { token, replay } = managedToken.of(req)
    const res = unlessReplayed(await tokens.rotate(token, replay, requestOrigin(req)))
    metrics.rotated(token.tenantId)
    return res
  })
  app.delete('/token/:id', tokenRoute, async (req, reply) => {
    await tokens.revoke(managedToken.of(req).token, requestOrigin(req))
    metrics.revoked('token')
    return reply.code(204).send()
  })
}
