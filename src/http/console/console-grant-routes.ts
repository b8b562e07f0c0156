import type { FastifyInstance, FastifyReply } from 'fastify'
import type { EventService } from '../../audit/event-service.js'
import { readGrantSearch, type Form } from '../../console/console-forms.js'
import { confirmRevokePage, grantListPage, grantPage } from '../../console/pages/grant-pages.js'
import { noticePage, type Viewer } from '../../console/pages/layout.js'
import { logGrantEvent } from '../../grant/grant-events.js'
import type { GrantListFilter, GrantService } from '../../grant/grant-service.js'
import { scopeOf, send, withForms, type ConsoleKit, type IdParams } from './console-kit.js'
import { originOf } from '../event-origin.js'

const PAGE_SIZE = 20

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

/**
 * The grants a viewer may see (its own tenant's; the operator's all): the list with its search,
 * one grant with its history, and revocation (a confirmation page, then its form).
 */
export function registerConsoleGrantRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: { grants: GrantService; events: Pick<EventService, 'ofGrant'> }
): void {
  const { grants, events } = deps
  const { viewerOf, page } = kit

  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/grants',
    page,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const search = readGrantSearch(req.query)
      const { wallet, status, after, before } = search
      const tenant = viewer.isOperator && search.tenant ? search.tenant : scopeOf(viewer)
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
          events: await events.ofGrant(grant.id),
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

  withForms(app, (forms) => {
    forms.post<{ Params: IdParams; Body: Form }>(
      '/grants/:id/revoke',
      kit.form,
      async (req, reply) => {
        const viewer = viewerOf(req)
        const revoked = await grants.admin.revoke(
          req.params.id,
          scopeOf(viewer),
          originOf(req, { kind: 'console', tenantId: viewer.tenantId })
        )
        if (!revoked) return grantNotFound(reply, viewer)
        if (!revoked.alreadyRevoked) logGrantEvent(req.log, 'revoked', revoked, 'console')
        return reply.redirect(`/grants/${revoked.grantId}?revoked=1`, 303)
      }
    )
  })
}
