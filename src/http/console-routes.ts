import formbody from '@fastify/formbody'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ConsoleSession, ConsoleSessions } from '../console/console-sessions.js'
import { CONSOLE_SESSION_MAX_SECONDS } from '../console/console-sessions.js'
import { isGrantStatus } from '../grant/grant-status.js'
import { confirmRevokePage, grantListPage, grantPage } from '../console/pages/grant-pages.js'
import { noticePage, type Viewer } from '../console/pages/layout.js'
import { overviewCharts, overviewPage } from '../console/pages/overview-page.js'
import { signInPage } from '../console/pages/sign-in-page.js'
import {
  confirmDeleteTenantPage,
  newTenantPage,
  tenantListPage,
  tenantPage
} from '../console/pages/tenant-pages.js'
import { consoleScript } from '../console/pages/console-script.js'
import { isUuid } from '../gnap/wire.js'
import { logGrantEvent } from '../grant/grant-events.js'
import type { GrantListFilter, GrantService } from '../grant/grant-service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { TenantDirectory, TenantInput } from '../tenant/tenant-directory.js'
import {
  describeTenantProblem,
  type TenantField,
  type TenantProblem
} from '../tenant/tenant-rules.js'
import { noteRefusal } from './refusal-log.js'
import { requestContext } from './request-context.js'

/** The session cookie (a signed random id) and the sign-in form's nonce cookie. */
const SESSION_COOKIE = 'opas_console'
const SIGN_IN_COOKIE = 'opas_console_sign_in'
const PAGE_SIZE = 20
/** Form fields are short; a larger body is refused before it is parsed. */
const FORM_LIMIT_BYTES = 8 * 1024

type Form = Record<string, unknown> | undefined
type Page = { html: string; headers: Readonly<Record<string, string>> }
type IdParams = { id: string }

const field = (body: Form, name: string): string => {
  const value = body?.[name]
  return typeof value === 'string' ? value : ''
}

/** A console path to return to after signing in; anything else (another host) is dropped. */
const safeNext = (value: string): string | undefined =>
  /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(value) && !value.startsWith('/sign-') ? value : undefined

/**
 * Sends a page; a refusal (status 400 and up) is noted for the request's log line, as every
 * other refusal of opas is.
 */
function send(reply: FastifyReply, status: number, page: Page, refusal?: string) {
  if (refusal) noteRefusal(reply.request, { code: refusal, description: refusal })
  return reply.code(status).headers(page.headers).send(page.html)
}

/**
 * The operator console (CONSOLE=on) on the admin listener: server-rendered pages over the same
 * services as the admin API and the CLI. Sign-in with a tenant's id and API secret; a session
 * in a signed HttpOnly SameSite=Strict cookie; every form carries the session's token, checked
 * before anything is read or written; nothing changes on a GET.
 */
export function registerConsoleRoutes(
  app: FastifyInstance,
  deps: {
    sessions: ConsoleSessions
    grants: GrantService
    tenants: TenantDirectory
    metrics: Pick<Metrics, 'recent'>
    now: () => number
  }
): void {
  const { sessions, grants, tenants } = deps
  const signedIn = requestContext<{ session: ConsoleSession; id: string }>('console session')
  const viewerOf = (req: FastifyRequest): Viewer => signedIn.of(req).session
  /** The tenant whose grants this viewer may read and revoke: its own; the operator's are all. */
  const scopeOf = (viewer: Viewer) => (viewer.isOperator ? undefined : viewer.tenantId)

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
    if (sessions.formTokenMatches(session, req.body?.csrf)) return
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

  /** Tenants are the operator's alone. */
  async function requireOperator(req: FastifyRequest, reply: FastifyReply) {
    const viewer = viewerOf(req)
    if (viewer.isOperator) return
    return send(
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
  }

  const page = {
    config: { auth: 'console-session' as const, browserPages: 'console' as const },
    preHandler: requireSession
  }
  const operatorPage = { ...page, preHandler: [requireSession, requireOperator] }
  const form = { ...page, preHandler: [requireSession, verifyForm] }
  const operatorForm = { ...page, preHandler: [requireSession, requireOperator, verifyForm] }

  const grantNotFound = (reply: FastifyReply, viewer: Viewer) =>
    send(
      reply,
      404,
      noticePage(
        {
          title: 'Grant not found',
          message:
            'There is no grant with this id that you may see. Search for it by wallet address.',
          link: { href: '/grants', text: 'Grants' }
        },
        viewer
      ),
      'unknown_grant'
    )
  const tenantNotFound = (reply: FastifyReply, viewer: Viewer) =>
    send(
      reply,
      404,
      noticePage(
        {
          title: 'Tenant not found',
          message: 'There is no live tenant with this id.',
          link: { href: '/tenants', text: 'Tenants' }
        },
        viewer
      ),
      'unknown_tenant'
    )

  app.get('/console.js', { config: { auth: 'none' } }, async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(consoleScript)
  )

  app.get<{ Querystring: { next?: string } }>(
    '/',
    { config: { auth: 'none', browserPages: 'console' } },
    async (req, reply) => {
      const id = sessionIdOf(req)
      if (id && (await sessions.open(id))) return reply.redirect('/grants', 303)
      return sendSignIn(req, reply, 200, { next: safeNext(String(req.query.next ?? '')) })
    }
  )

  void app.register(async (forms) => {
    await forms.register(formbody, { bodyLimit: FORM_LIMIT_BYTES })

    forms.post<{ Body: Form }>(
      '/sign-in',
      { config: { auth: 'console-sign-in', browserPages: 'console' } },
      async (req, reply) => {
        const body = req.body
        const tenantId = field(body, 'tenantId').trim()
        const next = safeNext(field(body, 'next'))
        const nonce = req.cookies[SIGN_IN_COOKIE]
        const unsigned = nonce ? req.unsignCookie(nonce) : undefined
        if (
          !unsigned?.valid ||
          !sessions.signInTokenMatches(unsigned.value ?? undefined, body?.csrf)
        ) {
          return sendSignIn(
            req,
            reply,
            403,
            { problem: 'The sign-in form had expired. Sign in again.', tenantId, next },
            'forged_form'
          )
        }
        const signIn = await sessions.signIn(tenantId, field(body, 'apiSecret'), req.ip)
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

    forms.post<{ Body: Form }>('/sign-out', form, async (req, reply) => {
      const { id, session } = signedIn.of(req)
      await sessions.signOut(id)
      req.log.info(
        { event: 'console.signed_out', tenantId: session.tenantId },
        'console signed out'
      )
      void reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.redirect('/', 303)
    })

    forms.post<{ Params: IdParams; Body: Form }>('/grants/:id/revoke', form, async (req, reply) => {
      const viewer = viewerOf(req)
      const revoked = await grants.admin.revoke(req.params.id, scopeOf(viewer))
      if (!revoked) return grantNotFound(reply, viewer)
      if (!revoked.alreadyRevoked) logGrantEvent(req.log, 'revoked', revoked, 'console')
      return reply.redirect(`/grants/${revoked.grantId}?revoked=1`, 303)
    })

    forms.post<{ Body: Form }>('/tenants', operatorForm, async (req, reply) => {
      const viewer = viewerOf(req)
      const id = field(req.body, 'id').trim()
      const values = { id, idpConsentUrl: field(req.body, 'idpConsentUrl').trim() }
      const created = await tenants.create(id, newTenantInput(req.body))
      if (created.outcome === 'invalid') {
        const problem = tenantFormProblem(created.problem)
        return send(reply, 400, newTenantPage({ viewer, values, problem }), 'invalid_request')
      }
      if (created.outcome === 'conflict') {
        const problem = 'A tenant with this ID exists, or existed and was deleted.'
        return send(reply, 409, newTenantPage({ viewer, values, problem }), 'conflict')
      }
      req.log.info(
        { event: 'tenant.created', tenantId: created.id, by: 'console' },
        'tenant created'
      )
      if (created.generatedApiSecret === undefined) {
        return reply.redirect(`/tenants/${created.id}?saved=1`, 303)
      }
      // Shown once, on this answer alone (console pages are never cached), never in a URL.
      return send(
        reply,
        201,
        noticePage(
          {
            title: 'Tenant created',
            message: `Its API secret, shown this once: ${created.generatedApiSecret}`,
            link: { href: `/tenants/${created.id}`, text: 'The tenant' }
          },
          viewer
        )
      )
    })

    forms.post<{ Params: IdParams; Body: Form }>(
      '/tenants/:id',
      operatorForm,
      async (req, reply) => {
        const viewer = viewerOf(req)
        const tenant = await tenants.show(req.params.id)
        if (!tenant) return tenantNotFound(reply, viewer)
        const change = tenantChange(req.body)
        const updated =
          typeof change === 'string' ? change : await tenants.update(tenant.id, change)
        if (typeof updated === 'string' || updated.outcome === 'invalid') {
          const values = { idpConsentUrl: field(req.body, 'idpConsentUrl').trim() }
          const problem = typeof updated === 'string' ? updated : tenantFormProblem(updated.problem)
          return send(
            reply,
            400,
            tenantPage({ viewer, tenant, values, problem }),
            'invalid_request'
          )
        }
        if (updated.outcome === 'not_found') return tenantNotFound(reply, viewer)
        req.log.info(
          {
            event: 'tenant.updated',
            tenantId: tenant.id,
            by: 'console',
            changed: Object.keys(change)
          },
          'tenant updated'
        )
        return reply.redirect(`/tenants/${tenant.id}?saved=1`, 303)
      }
    )

    forms.post<{ Params: IdParams; Body: Form }>(
      '/tenants/:id/delete',
      operatorForm,
      async (req, reply) => {
        const viewer = viewerOf(req)
        const tenant = await tenants.show(req.params.id)
        if (!tenant) return tenantNotFound(reply, viewer)
        if (tenant.id === viewer.tenantId) {
          return send(
            reply,
            409,
            noticePage(
              {
                title: 'Not deleted',
                message: 'The operator tenant cannot be deleted.',
                link: { href: '/tenants', text: 'Tenants' }
              },
              viewer
            ),
            'conflict'
          )
        }
        if (!(await tenants.remove(tenant.id, new Date(deps.now()))))
          return tenantNotFound(reply, viewer)
        req.log.info(
          { event: 'tenant.deleted', tenantId: tenant.id, by: 'console' },
          'tenant deleted'
        )
        return reply.redirect('/tenants?deleted=1', 303)
      }
    )
  })

  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/grants',
    page,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const q = req.query
      const wallet = (q.wallet ?? '').trim().slice(0, 2048)
      const status = isGrantStatus(q.state) ? q.state : undefined
      const tenant =
        viewer.isOperator && q.tenant && isUuid(q.tenant) ? q.tenant.toLowerCase() : scopeOf(viewer)
      const after = q.after && isUuid(q.after) ? q.after : undefined
      const before = !after && q.before && isUuid(q.before) ? q.before : undefined
      const filter: GrantListFilter = {
        ...(tenant ? { tenantId: tenant } : {}),
        ...(wallet ? { walletAddress: wallet } : {}),
        ...(status ? { statusIn: [status] } : {})
      }
      const found = await grants.admin.page(filter, {
        order: 'DESC',
        after,
        before,
        size: PAGE_SIZE
      })
      const first = found.rows[0]?.id
      const last = found.rows[found.rows.length - 1]?.id
      return send(
        reply,
        200,
        grantListPage({
          viewer,
          wallet,
          status,
          ...(viewer.isOperator && tenant ? { tenant } : {}),
          rows: found.rows,
          ...(found.hasPreviousPage && first ? { before: first } : {}),
          ...(found.hasNextPage && last ? { after: last } : {})
        })
      )
    }
  )

  app.get<{ Params: IdParams; Querystring: { revoked?: string } }>(
    '/grants/:id',
    page,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const scope = scopeOf(viewer)
      const [grant, history] = await Promise.all([
        grants.admin.find(req.params.id, scope),
        grants.admin.history(req.params.id, scope)
      ])
      if (!grant || !history) return grantNotFound(reply, viewer)
      return send(
        reply,
        200,
        grantPage({
          viewer,
          grant,
          history,
          ...(req.query.revoked ? { flash: 'Grant revoked.' } : {})
        })
      )
    }
  )

  app.get<{ Params: IdParams }>('/grants/:id/revoke', page, async (req, reply) => {
    const viewer = viewerOf(req)
    const grant = await grants.admin.find(req.params.id, scopeOf(viewer))
    if (!grant) return grantNotFound(reply, viewer)
    return send(reply, 200, confirmRevokePage({ viewer, grant }))
  })

  const chartsFor = (req: FastifyRequest) =>
    overviewCharts(deps.metrics, viewerOf(req), deps.now(), (err) =>
      req.log.warn({ err }, 'the last hour could not be collected')
    )

  app.get('/overview', page, async (req, reply) => {
    const viewer = viewerOf(req)
    return send(reply, 200, overviewPage({ viewer, charts: await chartsFor(req) }))
  })

  // The charts alone, which /console.js swaps into the overview: a fragment, never a page.
  app.get('/overview/charts', page, async (req, reply) =>
    reply
      .headers({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store'
      })
      .send(await chartsFor(req))
  )

  app.get<{ Querystring: { saved?: string; deleted?: string } }>(
    '/tenants',
    operatorPage,
    async (req, reply) => {
      const viewer = viewerOf(req)
      return send(
        reply,
        200,
        tenantListPage({
          viewer,
          tenants: await tenants.list(),
          ...(req.query.deleted ? { flash: 'Tenant deleted.' } : {})
        })
      )
    }
  )

  app.get('/tenants/new', operatorPage, async (req, reply) =>
    send(reply, 200, newTenantPage({ viewer: viewerOf(req), values: { id: randomUUID() } }))
  )

  app.get<{ Params: IdParams; Querystring: { saved?: string } }>(
    '/tenants/:id',
    operatorPage,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const tenant = await tenants.show(req.params.id)
      if (!tenant) return tenantNotFound(reply, viewer)
      return send(
        reply,
        200,
        tenantPage({ viewer, tenant, ...(req.query.saved ? { flash: 'Tenant saved.' } : {}) })
      )
    }
  )

  app.get<{ Params: IdParams }>('/tenants/:id/delete', operatorPage, async (req, reply) => {
    const viewer = viewerOf(req)
    const tenant = await tenants.show(req.params.id)
    if (!tenant) return tenantNotFound(reply, viewer)
    return send(reply, 200, confirmDeleteTenantPage({ viewer, tenant }))
  })
}

/** The tenant forms' fields as people read them. */
const fieldNames: Record<TenantField, string> = {
  id: 'The tenant ID',
  apiSecret: 'The API secret',
  idpConsentUrl: 'The IdP consent URL',
  idpSecret: 'The IdP secret'
}

/** The tenant directory's refusal as a sentence of the form. */
const tenantFormProblem = (problem: TenantProblem) =>
  `${describeTenantProblem(problem, fieldNames[problem.field])}.`

/** The new-tenant form as the tenant directory takes it: an empty API secret is generated. */
function newTenantInput(body: Form): TenantInput {
  const apiSecret = field(body, 'apiSecret')
  return {
    ...(apiSecret ? { apiSecret } : {}),
    idpConsentUrl: field(body, 'idpConsentUrl').trim() || null,
    idpSecret: field(body, 'idpSecret') || null
  }
}

/**
 * The tenant form's change: an empty API secret keeps the stored one; the IdP secret as chosen.
 * A string when the choice itself is incomplete (the values are the tenant directory's to judge).
 */
function tenantChange(body: Form): TenantInput | string {
  const change: TenantInput = {
    idpConsentUrl: field(body, 'idpConsentUrl').trim() || null
  }
  const apiSecret = field(body, 'apiSecret')
  if (apiSecret) change.apiSecret = apiSecret
  const idpSecret = field(body, 'idpSecret')
  switch (field(body, 'idpSecretChange') || 'keep') {
    case 'keep':
      return change
    case 'set':
      return idpSecret
        ? { ...change, idpSecret }
        : 'Type the new IdP secret, or choose to keep or remove it.'
    case 'clear':
      return { ...change, idpSecret: null }
    default:
      return 'Choose whether to keep, set or remove the IdP secret.'
  }
}
