import type { FastifyInstance, FastifyReply } from 'fastify'
import { readGrantSearch, type Form } from '../../console/console-forms.js'
import { confirmRevokePage, grantListPage, grantPage } from '../../console/pages/grant-pages.js'
import { noticePage, type Viewer } from '../../console/pages/layout.js'
import type { GrantOperations } from '../../grant/grant-operations.js'
import { send, withForms, type ConsoleKit, type IdParams } from './console-kit.js'

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
 * The grants a viewer may see: the list with its search, one grant with its history (its audit
 * events), and revocation (a confirmation page, then its form). Which grants a viewer may see
 * (a tenant its own, the operator all), and a revocation's event and log line, are the grant
 * operations' (grant/grant-operations.ts); this file reads the request and draws the page.
 */
export function registerConsoleGrantRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: { grantOperations: Pick<GrantOperations, 'page' | 'read' | 'find' | 'revoke'> }
): void {
  const grants = deps.grantOperations
  const { viewerOf, callOf, page } = kit

  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/grants',
    page,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const { wallet, status, tenant, after, before } = readGrantSearch(req.query)
      // The tenant chosen narrows the operator's list; a tenant's own scope ignores it.
      const found = await grants.page(
        callOf(req),
        {
          ...(tenant ? { tenantId: tenant } : {}),
          ...(wallet ? { walletAddress: wallet } : {}),
          ...(status ? { statusIn: [status] } : {})
        },
        { order: 'DESC', after, before, size: PAGE_SIZE }
      )
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
      const record = await grants.read(callOf(req), req.params.id)
      if (!record) return grantNotFound(reply, viewer)
      return send(
        reply,
        200,
        grantPage({
          viewer,
          ...record,
          ...(req.query.revoked ? { flash: 'Grant revoked.' } : {})
        })
      )
    }
  )

  app.get<{ Params: IdParams }>('/grants/:id/revoke', page, async (req, reply) => {
    const viewer = viewerOf(req)
    const grant = await grants.find(callOf(req), req.params.id)
    if (!grant) return grantNotFound(reply, viewer)
    return send(reply, 200, confirmRevokePage({ viewer, grant }))
  })

  withForms(app, (forms) => {
    forms.post<{ Params: IdParams; Body: Form }>(
      '/grants/:id/revoke',
      kit.form,
      async (req, reply) => {
        // The event (the console's tenant its actor) and the log line are the service's.
        const revoked = await grants.revoke(callOf(req), req.params.id)
        if (!revoked) return grantNotFound(reply, viewerOf(req))
        return reply.redirect(`/grants/${revoked.grantId}?revoked=1`, 303)
      }
    )
  })
}
