import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { InteractionService, InteractionView } from '../interaction/interaction-service.js'
import { logGrantEvent } from '../grant/grant-events.js'
import { requestContext } from './request-context.js'
import { requireJsonAccept } from './route-auth.js'
import { originOf } from './event-origin.js'

/** The interaction the IdP proved it may read or decide (its tenant's x-idp-secret). */
const idpInteraction = requestContext<InteractionView>('IdP-authenticated interaction')

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
      const interaction = await interactions.authenticateIdp(
        id,
        nonce,
        secretOf(req),
        badSecretCode
      )
      idpInteraction.set(req, interaction)
    }

  app.get<{ Params: GrantParams }>(
    '/grant/:id/:nonce',
    {
      config: { auth: 'idp-secret' },
      preHandler: [requireJsonAccept, authenticate('invalid_request')]
    },
    (req) => interactions.details(idpInteraction.of(req))
  )

  app.post<{ Params: GrantParams }>(
    '/grant/:id/:nonce/:choice',
    {
      config: { auth: 'idp-secret' },
      preHandler: [requireJsonAccept, authenticate('invalid_interaction')]
    },
    async (req, reply) => {
      const interaction = idpInteraction.of(req)
      const decided = await interactions.decide(
        interaction,
        req.params.choice ?? '',
        originOf(req, { kind: 'idp', tenantId: interaction.tenantId })
      )
      logGrantEvent(req.log, decided.decision, decided)
      return reply.code(202).send()
    }
  )
}
