import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AdminContext } from '../admin/grant-resolvers.js'
import type { GraphqlApi } from '../admin/graphql-api.js'
import type { ReplayGuard } from '../replay/replay-guard.js'
import {
  MAX_BODY_DEPTH,
  checkApiSignature,
  parseApiSignature,
  type ApiSignatureRefusal
} from '../tenant/api-signature.js'
import type { TenantDirectory } from '../tenant/tenant-directory.js'
import { sendGraphqlError } from './error-handler.js'
import { requestContext } from './request-context.js'
import { requestOrigin } from './event-origin.js'

const GraphqlBody = Type.Object({
  query: Type.String({ minLength: 1, maxLength: 100_000 }),
  variables: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  operationName: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  // Sent by some clients (Apollo's persisted queries); signed with the rest, otherwise unused.
  extensions: Type.Optional(Type.Unknown())
})

const refusalDescriptions: Record<ApiSignatureRefusal | 'unknown_tenant' | 'replayed', string> = {
  missing: 'the tenant-id and signature headers are required',
  malformed: 'malformed signature header (expected t=<timestamp>, v<version>=<hex digest>)',
  wrong_version: 'unsupported signature version',
  expired: 'signature expired',
  from_the_future: 'signature dated in the future',
  bad_digest: 'invalid signature',
  too_deep: `the request nests deeper than ${MAX_BODY_DEPTH} levels`,
  unknown_tenant: 'invalid signature',
  replayed: 'signature already used'
}

/**
 * The admin GraphQL API (`POST /graphql` on ADMIN_PORT), authenticated as Rafiki's admin tools
 * sign: `tenant-id` and `signature` headers, an HMAC over the timestamp and the JCS of the
 * parsed body with that tenant's API secret (tenant/api-signature.ts). A verified signature is
 * recorded until it expires, in the replay record every process shares, and refused if seen
 * again. Every refusal is a 401 with a JSON body and runs nothing. Each signature checked is a
 * try at the tenant's API secret, counted first (tenant directory `tryApiSecret`): once an
 * address has spent its tries, at this tenant or at all, it gets 429 with Retry-After, right
 * secret or not, and other addresses go on.
 */
export function registerAdminApiRoutes(
  app: FastifyInstance,
  deps: {
    graphql: GraphqlApi
    tenants: TenantDirectory
    replay: ReplayGuard
    operatorTenantId: string
    signatureVersion: number
    signatureTtlSeconds: number
    now: () => number
  }
): void {
  const caller = requestContext<AdminContext>('verified admin tenant')

  const refuse = (reply: FastifyReply, reason: keyof typeof refusalDescriptions) =>
    sendGraphqlError(reply, 401, 'UNAUTHENTICATED', refusalDescriptions[reason], reason)

  async function authenticateTenant(req: FastifyRequest, reply: FastifyReply) {
    const tenantHeader = req.headers['tenant-id']
    const signature = parseApiSignature(
      typeof req.headers.signature === 'string' ? req.headers.signature : undefined
    )
    if (typeof tenantHeader !== 'string' || tenantHeader === '') return refuse(reply, 'missing')
    if (typeof signature === 'string') return refuse(reply, signature)
    const tried = await deps.tenants.tryApiSecret(tenantHeader, req.ip)
    if (tried.throttled) {
      void reply.header('retry-after', String(tried.retryAfterSeconds))
      return sendGraphqlError(
        reply,
        429,
        'TOO_MANY_REQUESTS',
        'too many failed signatures from this address: try again later',
        'too_many_attempts'
      )
    }
    const { secret } = tried
    if (secret === undefined) return refuse(reply, 'unknown_tenant')
    const nowMs = deps.now()
    const ttlMs = deps.signatureTtlSeconds * 1000
    const refusal = checkApiSignature(signature, {
      secret,
      version: deps.signatureVersion,
      body: req.body,
      nowMs,
      ttlMs
    })
    if (refusal) return refuse(reply, refusal)
    await tried.proved()
    // Recorded only once verified, so that nobody can burn another's signature in advance.
    const expiresAt = Math.ceil((signature.signedAtMs + ttlMs) / 1000)
    if (!(await deps.replay.claim(signature.digest, expiresAt))) return refuse(reply, 'replayed')
    caller.set(req, {
      tenantId: tenantHeader.toLowerCase(),
      isOperator: tenantHeader.toLowerCase() === deps.operatorTenantId.toLowerCase(),
      log: req.log,
      ...requestOrigin(req)
    })
  }

  app.post<{ Body: Static<typeof GraphqlBody> }>(
    '/graphql',
    {
      schema: { body: GraphqlBody },
      config: { auth: 'tenant-signature', graphqlErrors: true },
      preHandler: authenticateTenant
    },
    async (req, reply) => {
      const answer = await deps.graphql.run(req.body, caller.of(req))
      return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body)
    }
  )
}
