import type { FastifyInstance, FastifyReply } from 'fastify'
import type { InteractionOutcome, InteractionService } from '../interaction/interaction-service.js'
import type { InteractionSession } from './interaction-session.js'

type InteractParams = { id: string; nonce: string }

/** The browser front channel on the auth listener (RFC 9635 §4.1.1 start, §4.2.1 finish). */
export function registerInteractionRoutes(
  app: FastifyInstance,
  deps: { interactions: InteractionService; session: InteractionSession }
): void {
  const { interactions, session } = deps

  function answer(reply: FastifyReply, params: InteractParams, outcome: InteractionOutcome) {
    if (outcome.kind === 'accepted') {
      session.end(reply, params.id, params.nonce)
      return reply.code(202).send()
    }
    if (outcome.endSession) session.end(reply, params.id, params.nonce)
    return reply.redirect(outcome.location, 302)
  }

  app.get<{ Params: InteractParams }>(
    '/interact/:id/:nonce',
    { config: { auth: 'none' } },
    async (req, reply) => {
      const outcome = await interactions.start(req.params.id, req.params.nonce)
      if (outcome.kind === 'redirect' && !outcome.endSession) {
        session.begin(reply, req.params.id, req.params.nonce)
      }
      return answer(reply, req.params, outcome)
    }
  )

  app.get<{ Params: InteractParams }>(
    '/interact/:id/:nonce/finish',
    { config: { auth: 'browser-session' } },
    async (req, reply) => {
      const matches = session.matches(req, req.params.id)
      const outcome = await interactions.finish(req.params.id, req.params.nonce, matches)
      return answer(reply, req.params, outcome)
    }
  )
}
