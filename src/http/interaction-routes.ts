import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { pageHeaders, renderNoticePage } from '../consent/consent-page.js'
import type { InteractionOutcome, InteractionService } from '../interaction/interaction-service.js'
import type { InteractionSession } from './interaction-session.js'
import { acceptsHtml } from './route-auth.js'
import { invalidInteraction } from '../gnap/gnap-error.js'
import { requestOrigin } from './event-origin.js'

type InteractParams = { id: string; nonce: string }

const ANSWER_RECORDED = {
  title: 'Answer recorded',
  message: 'You can close this window and go back to the app.'
}

/** The browser front channel on the auth listener (RFC 9635 §4.1.1 start, §4.2.1 finish). */
export function registerInteractionRoutes(
  app: FastifyInstance,
  deps: { interactions: InteractionService; session: InteractionSession }
): void {
  const { interactions, session } = deps

  function answer(
    req: FastifyRequest,
    reply: FastifyReply,
    params: InteractParams,
    outcome: InteractionOutcome
  ) {
    if (outcome.kind === 'accepted') {
      session.end(reply, params.id, params.nonce)
      // A polling client has no finish URI to return the browser to: a browser gets a page
      // saying so (Rafiki's empty 202 left a blank tab), any other caller the empty 202.
      if (!acceptsHtml(req)) return reply.code(202).send()
      return reply.code(202).headers(pageHeaders).send(renderNoticePage(ANSWER_RECORDED))
    }
    if (outcome.kind === 'refused') {
      session.end(reply, params.id, params.nonce)
      // A person opening a link that was already used, or is over, reads so on a plain page
      // (the error handler's, for browsers): the app's finish URL may be long gone, and a
      // redirect there would show a broken page or restart a flow. Other callers get Rafiki's
      // answer: the finish redirect with result=invalid_interaction, else 403.
      if (outcome.location === undefined || acceptsHtml(req)) {
        throw invalidInteraction(outcome.message, 403)
      }
      return reply.redirect(outcome.location, 302)
    }
    if (outcome.endSession) session.end(reply, params.id, params.nonce)
    return reply.redirect(outcome.location, 302)
  }

  app.get<{ Params: InteractParams }>(
    '/interact/:id/:nonce',
    { config: { auth: 'none', browserPages: true } },
    async (req, reply) => {
      const outcome = await interactions.start(req.params.id, req.params.nonce)
      if (outcome.kind === 'redirect' && !outcome.endSession) {
        session.begin(reply, req.params.id, req.params.nonce)
      }
      return answer(req, reply, req.params, outcome)
    }
  )

  app.get<{ Params: InteractParams }>(
    '/interact/:id/:nonce/finish',
    { config: { auth: 'browser-session', browserPages: true } },
    async (req, reply) => {
      const matches = session.matches(req, req.params.id)
      const outcome = await interactions.finish(
        req.params.id,
        req.params.nonce,
        matches,
        requestOrigin(req)
      )
      return answer(req, reply, req.params, outcome)
    }
  )
}
