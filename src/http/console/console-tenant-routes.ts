import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import {
  readNewTenantForm,
  readTenantChange,
  tenantFormProblem,
  type Form
} from '../../console/console-forms.js'
import { noticePage, type Viewer } from '../../console/pages/layout.js'
import {
  confirmDeleteTenantPage,
  newTenantPage,
  tenantListPage,
  tenantPage
} from '../../console/pages/tenant-pages.js'
import type { TenantDirectory } from '../../tenant/tenant-directory.js'
import { send, withForms, type ConsoleKit, type IdParams } from './console-kit.js'
import { originOf } from '../event-origin.js'

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

/** The tenants, the operator's alone: list, create, change and delete. */
export function registerConsoleTenantRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: { tenants: TenantDirectory; now: () => number }
): void {
  const { tenants } = deps
  const { viewerOf, operatorPage, operatorForm } = kit

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

  withForms(app, (forms) => {
    forms.post<{ Body: Form }>('/tenants', operatorForm, async (req, reply) => {
      const viewer = viewerOf(req)
      const { id, input, values } = readNewTenantForm(req.body)
      const created = await tenants.create(
        id,
        input,
        originOf(req, { kind: 'console', tenantId: viewer.tenantId })
      )
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
        const { change, values } = readTenantChange(req.body)
        const updated =
          typeof change === 'string'
            ? change
            : await tenants.update(
                tenant.id,
                change,
                originOf(req, { kind: 'console', tenantId: viewer.tenantId })
              )
        if (typeof updated === 'string' || updated.outcome === 'invalid') {
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
        if (
          !(await tenants.remove(
            tenant.id,
            new Date(deps.now()),
            originOf(req, { kind: 'console', tenantId: viewer.tenantId })
          ))
        )
          return tenantNotFound(reply, viewer)
        req.log.info(
          { event: 'tenant.deleted', tenantId: tenant.id, by: 'console' },
          'tenant deleted'
        )
        return reply.redirect('/tenants?deleted=1', 303)
      }
    )
  })
}
