import formbody from '@fastify/formbody'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { formTokenOf, safeNext, type Form } from '../../console/console-forms.js'
import type { ConsoleSession, ConsoleSessions } from '../../console/console-sessions.js'
import { scopeOf, type OperatorCall } from '../../grant/grant-operations.js'
import { noticePage, type Viewer } from '../../console/pages/layout.js'
import { signInPage } from '../../console/pages/sign-in-page.js'
import { originOf } from '../event-origin.js'
import { noteRefusal } from '../refusal-log.js'
import { requestContext } from '../request-context.js'

/** The session cookie (a signed random id) and the sign-in form's nonce cookie. */
export const SESSION_COOKIE = 'opas_console'
export const SIGN_IN_COOKIE = 'opas_console_sign_in'
/** Form fields are short; a larger body is refused before it is parsed. */
const FORM_LIMIT_BYTES = 8 * 1024

export type Page = { html: string; headers: Readonly<Record<string, string>> }
export type IdParams = { id: string }

/**
 * Sends a page; a refusal (status 400 and up) is noted for the request's log line, as every
 * other refusal of opas is.
 */
export function send(reply: FastifyReply, status: number, page: Page, refusal?: string) {
  if (refusal) noteRefusal(reply.request, { code: refusal, description: refusal })
  return reply.code(status).headers(page.headers).send(page.html)
}

/**
 * Routes that take a posted form: registered in a context of their own that parses
 * `application/x-www-form-urlencoded`, up to FORM_LIMIT_BYTES.
 */
export function withForms(app: FastifyInstance, register: (forms: FastifyInstance) => void): void {
  void app.register(async (forms) => {
    await forms.register(formbody, { bodyLimit: FORM_LIMIT_BYTES })
    register(forms)
  })
}

/** Tenants are the operator's alone: the page of the tenant operations' `forbidden`. */
export const operatorOnly = (reply: FastifyReply, viewer: Viewer) =>
  send(
    reply,
    403,
    noticePage(
      {
        title: 'Operator only',
        message: 'Only the operator tenant manages tenants.',
        link: { href: '/grants', text: 'Grants' }
      },
      viewer
    ),
    'not_operator'
  )

/**
 * What every console route shares: who is signed in (the session its hook found), the viewer as
 * the operator services take a caller (`callOf`), the sign-in page, and the hooks a page or a
 * form declares (`page`, `form`). Built once per console, so every route reads the same request
 * context. Which grants a viewer may see and who may manage tenants are the operator services'
 * to decide (grant/grant-operations.ts, tenant/tenant-operations.ts), not the console's.
 */
export function createConsoleKit(sessions: ConsoleSessions) {
  const signedIn = requestContext<{ session: ConsoleSession; id: string }>('console session')
  const viewerOf = (req: FastifyRequest): Viewer => signedIn.of(req).session

  /**
   * The signed-in viewer as an operator service's caller: the console's tenant its actor, this
   * request its origin and logger, its scope by the grant operations' rule.
   */
  const callOf = (req: FastifyRequest): OperatorCall => {
    const viewer = viewerOf(req)
    return {
      ...originOf(req, { kind: 'console', tenantId: viewer.tenantId }),
      scope: scopeOf(viewer),
      log: req.log
    }
  }

  const cookieOptions = (req: FastifyRequest, maxAge: number) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: req.protocol === 'https',
    signed: true,
    maxAge
  })

  /** The sign-in page, its form token bound to a fresh nonce cookie. */
  function sendSignIn(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    view: { problem?: string; tenantId?: string; next?: string | undefined },
    refusal?: string
  ) {
    const nonce = sessions.newNonce()
    void reply.setCookie(SIGN_IN_COOKIE, nonce, cookieOptions(req, 3600))
    const { next, ...rest } = view
    return send(
      reply,
      status,
      signInPage({ ...rest, ...(next ? { next } : {}), formToken: sessions.signInToken(nonce) }),
      refusal
    )
  }

  const sessionIdOf = (req: FastifyRequest): string | undefined | false => {
    const cookie = req.cookies[SESSION_COOKIE]
    if (!cookie) return undefined
    const unsigned = req.unsignCookie(cookie)
    return unsigned.valid && unsigned.value ? unsigned.value : false
  }

  /**
   * Every page but sign-in: a valid, live session. A page opened without one shows the sign-in
   * form (and returns there after); a form posted without one changes nothing.
   */
  async function requireSession(req: FastifyRequest, reply: FastifyReply) {
    const id = sessionIdOf(req)
    const session = id ? await sessions.open(id) : undefined
    if (id && session) return signedIn.set(req, { session, id })
    const reason =
      id === undefined ? 'no_session' : id === false ? 'tampered_session' : 'ended_session'
    if (id !== undefined) void reply.clearCookie(SESSION_COOKIE, { path: '/' })
    const problem =
      id === undefined
        ? 'Sign in to continue.'
        : id === false
          ? 'Your session cookie is not valid. Sign in again.'
          : 'Your session has ended. Sign in again.'
    if (req.method === 'GET' || req.method === 'HEAD') {
      return sendSignIn(req, reply, 401, { problem, next: safeNext(req.url) }, reason)
    }
    return send(
      reply,
      401,
      noticePage({
        title: 'Signed out',
        message: `${problem} Nothing was changed.`,
        link: { href: '/', text: 'Sign in' }
      }),
      reason
    )
  }

  /** A posted form carries this session's token (a forged cross-site form cannot). */
  async function verifyForm(req: FastifyRequest<{ Body: Form }>, reply: FastifyReply) {
    const { session } = signedIn.of(req)
    if (sessions.formTokenMatches(session, formTokenOf(req.body))) return
    return send(
      reply,
      403,
      noticePage(
        {
          title: 'Form not accepted',
          message:
            'This form could not be checked: it was not sent from this console, or is too old. ' +
            'Nothing was changed. Go back, reload the page and try again.'
        },
        session
      ),
      'forged_form'
    )
  }

  const page = {
    config: { auth: 'console-session' as const, browserPages: 'console' as const },
    preHandler: requireSession
  }
  return {
    sessions,
    signedIn,
    viewerOf,
    callOf,
    cookieOptions,
    sendSignIn,
    sessionIdOf,
    /** A page of a signed-in viewer. */
    page,
    /** A form of a signed-in viewer, its token checked before anything is read or written. */
    form: { ...page, preHandler: [requireSession, verifyForm] }
  }
}

export type ConsoleKit = ReturnType<typeof createConsoleKit>
