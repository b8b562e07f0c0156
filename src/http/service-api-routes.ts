import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hashSecret, secretMatchesHash } from '../gnap/secrets.js'
import { sendErrorEnvelope } from './error-handler.js'
import { originOf } from './event-origin.js'
import type { TenantCall, TenantOperations } from '../tenant/tenant-operations.js'
import { describeTenantProblem, type TenantProblem } from '../tenant/tenant-rules.js'

/**
 * Rafiki's service API (SERVICE_API_PORT), as its backend's `AuthServiceClient` calls it: the
 * backend creates, changes and soft-deletes tenants here, and rolls its own transaction back
 * when a call fails, so every failure is a clear status with a JSON body, never a 5xx.
 * `GET /tenant/:id` is opas's own addition (the IdP secret is stored hashed, so it is never
 * shown: `hasIdpSecret` says whether one is set), and so are a tenant's own webhook receiver,
 * `webhookUrl`, and its signing key, `webhookSecret` (never shown but once, when generated:
 * `hasWebhookSecret`), which Rafiki's backend never sends.
 */

// Types only: what a tenant may be (lengths, URLs, secrets' minimum, a deletion's date) is the
// tenant operations' to judge, the same for every surface (tenant/tenant-rules.ts).
const Nullable = Type.Optional(Type.Union([Type.String(), Type.Null()]))

const CreateBody = Type.Object(
  {
    id: Type.String(),
    // Rafiki's backend always sends one; opas generates one when none is given (and answers it).
    apiSecret: Type.Optional(Type.String()),
    idpConsentUrl: Nullable,
    idpSecret: Nullable,
    webhookUrl: Nullable,
    webhookSecret: Nullable
  },
  { additionalProperties: false }
)
const UpdateBody = Type.Object(
  {
    apiSecret: Type.Optional(Type.String()),
    idpConsentUrl: Nullable,
    idpSecret: Nullable,
    webhookUrl: Nullable,
    webhookSecret: Nullable
  },
  { additionalProperties: false, minProperties: 1 }
)
const DeleteBody = Type.Object({ deletedAt: Type.String({ maxLength: 64 }) })

type Params = { id: string }

/** The service API's own error codes (its malformed requests get `invalid_request`, as elsewhere). */
export const serviceApiErrorCodes = ['not_found', 'conflict', 'unauthorized'] as const

type ServiceErrorCode = (typeof serviceApiErrorCodes)[number] | 'invalid_request'

const fail = (reply: FastifyReply, status: number, code: ServiceErrorCode, description: string) =>
  sendErrorEnvelope(reply, status, code, description)

const unknownTenant = (reply: FastifyReply) => fail(reply, 404, 'not_found', 'unknown tenant')

const invalidTenant = (reply: FastifyReply, problem: TenantProblem) =>
  fail(reply, 400, 'invalid_request', describeTenantProblem(problem, problem.field))

/** The service API manages every tenant; refused only if the tenant service ever says so. */
const forbidden = (reply: FastifyReply) =>
  fail(reply, 403, 'unauthorized', 'this caller may not manage tenants')

/**
 * The secrets generated for a change, answered this once (and never cached): `apiSecret`,
 * `webhookSecret`, whichever were.
 */
function sendGenerated(
  reply: FastifyReply,
  status: 200 | 201,
  id: string,
  generated: { generatedApiSecret?: string; generatedWebhookSecret?: string }
) {
  const { generatedApiSecret: apiSecret, generatedWebhookSecret: webhookSecret } = generated
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .send({
      id,
      ...(apiSecret === undefined ? {} : { apiSecret }),
      ...(webhookSecret === undefined ? {} : { webhookSecret })
    })
}

/** Rafiki's backend, as the actor of the change, with this request's id and address. */
const callOf = (req: FastifyRequest): TenantCall => ({
  ...originOf(req, { kind: 'service-api' }),
  log: req.log
})

export function registerServiceApiRoutes(
  app: FastifyInstance,
  deps: { tenants: TenantOperations; serviceApiSecret: string | undefined }
): void {
  const { tenants } = deps
  const secretHash =
    deps.serviceApiSecret === undefined ? undefined : hashSecret(deps.serviceApiSecret)

  /** With SERVICE_API_SECRET set, a bearer token equal to it (compared in constant time). */
  async function authenticate(req: FastifyRequest, reply: FastifyReply) {
    if (secretHash === undefined) return
    const [scheme, token] = (req.headers.authorization ?? '').split(' ')
    const presented = scheme?.toLowerCase() === 'bearer' && token ? token : undefined
    if (!secretMatchesHash(presented, secretHash)) {
      void reply.header('www-authenticate', 'Bearer')
      return fail(reply, 401, 'unauthorized', 'a valid bearer token is required')
    }
  }
  const auth = 'service-secret' as const

  /**
   * A malformed id names no tenant: 400 on create (the body is wrong), 404 on a path. Created
   * with the caller's API secret: 204, as Rafiki answers; with one generated (or a webhook
   * secret, for a webhook URL given without one): 201 and the secrets, shown this once.
   */
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/tenant',
    { schema: { body: CreateBody }, config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const created = await tenants.create(callOf(req), req.body)
      if (created.outcome === 'forbidden') return forbidden(reply)
      if (created.outcome === 'invalid') return invalidTenant(reply, created.problem)
      if (created.outcome === 'conflict') {
        return fail(reply, 409, 'conflict', 'a tenant with this id exists (or was deleted)')
      }
      const { generatedApiSecret, generatedWebhookSecret } = created
      if (generatedApiSecret === undefined && generatedWebhookSecret === undefined) {
        return reply.code(204).send()
      }
      return sendGenerated(reply, 201, created.id, created)
    }
  )

  app.get<{ Params: Params }>(
    '/tenant/:id',
    { config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const shown = await tenants.show(callOf(req), req.params.id)
      if (shown.outcome === 'forbidden') return forbidden(reply)
      if (shown.outcome === 'not_found') return unknownTenant(reply)
      return { ...shown.tenant, idpSecret: null }
    }
  )

  /** Changed: 204, as Rafiki answers; with a webhook secret generated, 200 and the secret, once. */
  app.patch<{ Params: Params; Body: Static<typeof UpdateBody> }>(
    '/tenant/:id',
    { schema: { body: UpdateBody }, config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const updated = await tenants.update(callOf(req), req.params.id, req.body)
      if (updated.outcome === 'forbidden') return forbidden(reply)
      if (updated.outcome === 'invalid') return invalidTenant(reply, updated.problem)
      if (updated.outcome === 'not_found') return unknownTenant(reply)
      if (updated.generatedWebhookSecret === undefined) return reply.code(204).send()
      return sendGenerated(reply, 200, req.params.id.toLowerCase(), updated)
    }
  )

  app.delete<{ Params: Params; Body: Static<typeof DeleteBody> }>(
    '/tenant/:id',
    { schema: { body: DeleteBody }, config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const removed = await tenants.remove(callOf(req), req.params.id, new Date(req.body.deletedAt))
      switch (removed.outcome) {
        case 'deleted':
          return reply.code(204).send()
        case 'invalid_date':
          return fail(reply, 400, 'invalid_request', 'deletedAt must be a date and time')
        case 'not_found':
          return unknownTenant(reply)
        case 'own_tenant':
        case 'forbidden':
          return forbidden(reply)
      }
    }
  )
}
