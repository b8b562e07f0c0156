import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hashSecret, secretMatchesHash } from '../gnap/secrets.js'
import { isUuid } from '../gnap/wire.js'
import { sendErrorEnvelope } from './error-handler.js'
import type { TenantDirectory } from '../tenant/tenant-directory.js'

/**
 * Rafiki's service API (SERVICE_API_PORT), as its backend's `AuthServiceClient` calls it: the
 * backend creates, changes and soft-deletes tenants here, and rolls its own transaction back
 * when a call fails, so every failure is a clear status with a JSON body, never a 5xx.
 * `GET /tenant/:id` is opas's own addition (the IdP secret is stored hashed, so it is never
 * shown: `hasIdpSecret` says whether one is set).
 */

const Url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' })
const Secret = Type.String({ minLength: 1, maxLength: 1024 })

const CreateBody = Type.Object(
  {
    id: Type.String({ maxLength: 64 }),
    apiSecret: Secret,
    idpConsentUrl: Type.Optional(Type.Union([Url, Type.Null()])),
    idpSecret: Type.Optional(Type.Union([Secret, Type.Null()]))
  },
  { additionalProperties: false }
)
const UpdateBody = Type.Object(
  {
    apiSecret: Type.Optional(Secret),
    idpConsentUrl: Type.Optional(Type.Union([Url, Type.Null()])),
    idpSecret: Type.Optional(Type.Union([Secret, Type.Null()]))
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

export function registerServiceApiRoutes(
  app: FastifyInstance,
  deps: { tenants: TenantDirectory; serviceApiSecret: string | undefined }
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

  /** A malformed id names no tenant: 400 on create (the body is wrong), 404 on a path. */
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/tenant',
    { schema: { body: CreateBody }, config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const { id, ...input } = req.body
      if (!isUuid(id)) return fail(reply, 400, 'invalid_request', 'id must be a UUID')
      if (!(await tenants.create(id, input))) {
        return fail(reply, 409, 'conflict', 'a tenant with this id exists (or was deleted)')
      }
      return reply.code(204).send()
    }
  )

  app.get<{ Params: Params }>(
    '/tenant/:id',
    { config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const tenant = await tenants.show(req.params.id)
      if (!tenant) return unknownTenant(reply)
      return { ...tenant, idpSecret: null }
    }
  )

  app.patch<{ Params: Params; Body: Static<typeof UpdateBody> }>(
    '/tenant/:id',
    { schema: { body: UpdateBody }, config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const updated = isUuid(req.params.id) && (await tenants.update(req.params.id, req.body))
      if (!updated) return unknownTenant(reply)
      return reply.code(204).send()
    }
  )

  app.delete<{ Params: Params; Body: Static<typeof DeleteBody> }>(
    '/tenant/:id',
    { schema: { body: DeleteBody }, config: { auth }, preHandler: authenticate },
    async (req, reply) => {
      const deletedAt = new Date(req.body.deletedAt)
      const year = deletedAt.getUTCFullYear()
      // The database keeps four-digit years (and so does every date a backend sends).
      if (Number.isNaN(year) || year < 1 || year > 9999) {
        return fail(reply, 400, 'invalid_request', 'deletedAt must be a date and time')
      }
      const removed = isUuid(req.params.id) && (await tenants.remove(req.params.id, deletedAt))
      if (!removed) return unknownTenant(reply)
      return reply.code(204).send()
    }
  )
}
