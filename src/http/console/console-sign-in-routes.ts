import type { FastifyInstance } from 'fastify'
import { formTokenOf, readSignInForm, safeNext, type Form } from '../../console/console-forms.js'
import { CONSOLE_SESSION_MAX_SECONDS } from '../../console/console-sessions.js'
import { isUuid } from '../../gnap/wire.js'
import { SESSION_COOKIE, SIGN_IN_COOKIE, withForms, type ConsoleKit } from './console-kit.js'
import { requestOrigin } from '../event-origin.js'

/**
 * Sign-in and sign-out: the sign-in page at `/` (a signed-in viewer goes on to the grants), the
 * sign-in form (the tenant's id and API secret, its form token bound to the nonce cookie), and
 * sign-out, which ends the session.
 */
export function registerConsoleSignInRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const { sessions, signedIn, sessionIdOf, sendSignIn, cookieOptions } = kit

  app.get<{ Querystring: { next?: string } }>(
    '/',
    { config: { auth: 'none', browserPages: 'console' } },
    async (req, reply) => {
      const id = sessionIdOf(req)
      if (id && (await sessions.open(id))) return reply.redirect('/grants', 303)
      return sendSignIn(req, reply, 200, { next: safeNext(String(req.query.next ?? '')) })
    }
  )

  withForms(app, (forms) => {
    forms.post<{ Body: Form }>(
      '/sign-in',
      { config: { auth: 'console-sign-in', browserPages: 'console' } },
      async (req, reply) => {
        const { tenantId, apiSecret, next } = readSignInForm(req.body)
        const nonce = req.cookies[SIGN_IN_COOKIE]
        const unsigned = nonce ? req.unsignCookie(nonce) : undefined
        if (
          !unsigned?.valid ||
          !sessions.signInTokenMatches(unsigned.value ?? undefined, formTokenOf(req.body))
        ) {
          return sendSignIn(
            req,
            reply,
            403,
            { problem: 'The sign-in form had expired. Sign in again.', tenantId, next },
            'forged_form'
          )
        }
        const signIn = await sessions.signIn(tenantId, apiSecret, requestOrigin(req))
        if (signIn.outcome === 'throttled') {
          void reply.header('retry-after', String(signIn.retryAfterSeconds))
          const minutes = Math.ceil(signIn.retryAfterSeconds / 60)
          return sendSignIn(
            req,
            reply,
            429,
            {
              problem: `Too many failed attempts from this address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
              tenantId,
              next
            },
            'too_many_attempts'
          )
        }
        if (signIn.outcome === 'wrong') {
          req.log.warn(
            { event: 'console.sign_in_failed', tenantId: isUuid(tenantId) ? tenantId : undefined },
            'console sign-in failed'
          )
          return sendSignIn(
            req,
            reply,
            401,
            { problem: 'The tenant ID or the API secret is wrong.', tenantId, next },
            'sign_in_failed'
          )
        }
        req.log.info(
          { event: 'console.signed_in', tenantId: tenantId.toLowerCase() },
          'console signed in'
        )
        void reply.clearCookie(SIGN_IN_COOKIE, { path: '/' })
        void reply.setCookie(
          SESSION_COOKIE,
          signIn.sessionId,
          cookieOptions(req, CONSOLE_SESSION_MAX_SECONDS)
        )
        return reply.redirect(next ?? '/grants', 303)
      }
    )

    forms.post<{ Body: Form }>('/sign-out', kit.form, async (req, reply) => {
      const { id, session } = signedIn.of(req)
      await sessions.signOut(id, session.tenantId, requestOrigin(req))
      req.log.info(
        { event: 'console.signed_out', tenantId: session.tenantId },
        'console signed out'
      )
      void reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.redirect('/', 303)
    })
  })
}
