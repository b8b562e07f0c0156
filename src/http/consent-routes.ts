import formbody from '@fastify/formbody'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { renderConsentPage, pageHeaders } from '../consent/consent-page.js'
import type { ConsentChoice, ConsentService, ConsentState } from '../consent/consent-service.js'
import { GnapError, type GnapErrorCode } from '../gnap/gnap-error.js'
import { interactionUrl } from '../interaction/interaction-url.js'
import type { InteractionSession } from './interaction-session.js'
import { logGrantEvent } from '../grant/grant-events.js'
import { sendNoticePage } from './error-handler.js'
import { acceptsHtml } from './route-auth.js'
import { requestOrigin } from './event-origin.js'

type Params = { id: string; nonce: string }
type FormBody = Record<string, unknown> | undefined

type Notice = Exclude<ConsentState['kind'], 'pending' | 'answered'> | 'session' | 'forged'

interface NoticeSpec {
  status: number
  /** The page a browser gets. */
  title: string
  message: string
  /** The GNAP error any other caller gets, with the same status. */
  code: GnapErrorCode
  description: string
}

/** Why the question is not shown or not taken. */
const NOTICES: Record<Notice, NoticeSpec> = {
  unknown: {
    status: 404,
    title: 'Request not found',
    message: 'This link does not match any request for access. Go back to the app and start again.',
    code: 'unknown_interaction',
    description: 'unknown interaction'
  },
  expired: {
    status: 410,
    title: 'Request expired',
    message:
      'This request for access waited too long for an answer. Go back to the app and start again.',
    code: 'invalid_interaction',
    description: 'interaction expired'
  },
  closed: {
    status: 409,
    title: 'Request closed',
    message: 'The app withdrew this request for access, or it has already been answered.',
    code: 'invalid_interaction',
    description: 'interaction closed'
  },
  session: {
    status: 403,
    title: 'Open this request from the app',
    message:
      'This page belongs to a request opened in another browser, or the request has already ' +
      'been answered here. Go back to the app and start again.',
    code: 'invalid_request',
    description: 'invalid session'
  },
  forged: {
    status: 403,
    title: 'Answer not accepted',
    message: 'Your answer could not be checked. Reload this page and answer again.',
    code: 'invalid_request',
    description: 'invalid consent form'
  }
}

/** The interaction was already answered, the other way than this request would. */
function alreadyAnswered(accepted: boolean): NoticeSpec {
  const decision = accepted ? 'accepted' : 'declined'
  return {
    status: 409,
    title: 'Already answered',
    message: `This request for access was already ${decision}.`,
    code: 'invalid_interaction',
    description: `interaction already ${decision}`
  }
}

/** A page for a browser; for any other caller, the same status as a GNAP error. */
function notice(req: FastifyRequest, reply: FastifyReply, spec: Notice | NoticeSpec) {
  const { status, title, message, code, description } =
    typeof spec === 'string' ? NOTICES[spec] : spec
  if (!acceptsHtml(req)) throw new GnapError(status, code, description)
  return sendNoticePage(reply, status, { title, message }, { code, description })
}

/**
 * The built-in consent screen (CONSENT_SCREEN=builtin) on the auth listener, under the
 * interaction's own path so that its session cookie comes along. GET shows the question; POST
 * records the answer and sends the browser on to the interaction's finish, exactly as after an
 * external IdP (RFC 9635 §4.2.1 redirect with hash, or the polling client's 202).
 */
export function registerConsentRoutes(
  app: FastifyInstance,
  deps: { consent: ConsentService; session: InteractionSession; authServerUrl: string }
): void {
  const { consent, session } = deps
  const path = '/interact/:id/:nonce/consent'

  /** Only the browser that started the interaction (its signed session cookie) sees or answers. */
  async function requireConsentSession(
    req: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply
  ) {
    if (!session.matches(req, req.params.id)) return notice(req, reply, 'session')
  }

  /** The form's anti-forgery token and a known answer, before anything is read or written. */
  async function verifyConsentForm(
    req: FastifyRequest<{ Params: Params; Body: FormBody }>,
    reply: FastifyReply
  ) {
    const { id, nonce } = req.params
    const body = req.body ?? {}
    if (!consent.csrfMatches(id, nonce, body.csrf)) return notice(req, reply, 'forged')
    if (body.choice !== 'accept' && body.choice !== 'decline') return notice(req, reply, 'forged')
  }

  app.get<{ Params: Params }>(
    path,
    { config: { auth: 'browser-session', browserPages: true }, preHandler: requireConsentSession },
    async (req, reply) => {
      const { id, nonce } = req.params
      const state = await consent.show(id, nonce)
      if (state.kind === 'answered') return notice(req, reply, alreadyAnswered(state.accepted))
      if (state.kind !== 'pending') return notice(req, reply, state.kind)
      return reply.headers(pageHeaders).send(
        renderConsentPage({
          clientName: state.clientName,
          clientWalletAddress: state.clientWalletAddress,
          access: state.access,
          csrfToken: consent.csrfToken(id, nonce)
        })
      )
    }
  )

  // Form posts only here: the rest of the listener speaks JSON.
  void app.register(async (forms) => {
    await forms.register(formbody, { bodyLimit: 1024 })
    forms.post<{ Params: Params; Body: FormBody }>(
      path,
      {
        config: { auth: 'browser-session', browserPages: true },
        preHandler: [requireConsentSession, verifyConsentForm]
      },
      async (req, reply) => {
        const { id, nonce } = req.params
        const choice = req.body!.choice as ConsentChoice
        const state = await consent.choose(id, nonce, choice, requestOrigin(req))
        if (state.kind === 'answered') {
          if (state.accepted !== (choice === 'accept')) {
            return notice(req, reply, alreadyAnswered(state.accepted))
          }
          if (state.decided) logGrantEvent(req.log, state.decided.decision, state.decided)
          // 303: the browser follows with a GET to the finish, which ends the session.
          return reply.redirect(interactionUrl(deps.authServerUrl, id, nonce, 'finish'), 303)
        }
        return notice(req, reply, state.kind === 'pending' ? 'closed' : state.kind)
      }
    )
  })
}
