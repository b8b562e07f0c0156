import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { InteractionService, InteractionView } from '../interaction/interaction-service.js'
import { requireJsonAccept } from './route-auth.js'

declare module 'fastify' {
  interface FastifyRequest {
    idpInteraction?: InteractionView
  }
}

type GrantParams = { id: string; nonce: string; choice?: string }

const secretOf = (req: FastifyRequest) => {
  const value = req.headers['x-idp-secret']
  return typeof value === 'string' ? value : undefined
}

/** The IdP back channel on the interaction listener (id-provider.yaml), `x-idp-secret` auth. */
export function registerIdpRoutes(
  app: FastifyInstance,
  deps: { interactions: InteractionService }
): void {
  const { interactions } = deps

  const authenticate = (badSecretCode: 'invalid_request' | 'invalid_interaction') =>
    async function authenticateIdp(req: FastifyRequest): Promise<void> {
      const { id, nonce } = req.params as GrantParams
      req.idpInteraction = await interactions.authenticateIdp(
        id,
        nonce,
        secretOf(req),
        badSecretCode
      )
    }

  app.get<{ Params: GrantParams }>(
    '/grant/:id/:nonce',
    {
      config: { auth: 'idp-secret' },
      preHandler: [requireJsonAccept, authenticate('invalid_request')]
    },
    (req) => interactions.details(req.idpInteraction!)
  )

  app.post<{ Params: GrantParams }>(
    '/grant/:id/:nonce/:choice',
    {
      config: { auth: 'idp-secret' },
      preHandler: [requireJsonAccept, authenticate('invalid_interaction')]
    },
    async (req, reply) => {
      await interactions.decide(req.idpInteraction!, req.params.choice ?? '')
      return reply.code(202).send()
    }
  )
}
