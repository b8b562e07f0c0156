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
  generatedSecretsPage,
  newTenantPage,
  tenantListPage,
  tenantPage
} from '../../console/pages/tenant-pages.js'
import type { TenantOperations } from '../../tenant/tenant-operations.js'
import { operatorOnly, send, withForms, type ConsoleKit, type IdParams } from './console-kit.js'

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

/**
 * The tenants: list, create, change and delete. Who may (the operator tenant alone, at the
 * console), the checks, the audit event and the log line are the tenant operations'
 * (tenant/tenant-operations.ts); this file reads the forms and draws the pages.
 */
export function registerConsoleTenantRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: { tenantOperations: TenantOperations }
): void {
  const tenants = deps.tenantOperations
  const { viewerOf, callOf, page, form } = kit

  app.get<{ Querystring: { saved?: string; deleted?: string } }>(
    '/tenants',
    page,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const listed = await tenants.list(callOf(req))
      if (listed.outcome === 'forbidden') return operatorOnly(reply, viewer)
      return send(
        reply,
        200,
        tenantListPage({
          viewer,
          tenants: listed.tenants,
          ...(req.query.deleted ? { flash: 'Tenant deleted.' } : {})
        })
      )
    }
  )

  app.get('/tenants/new', page, async (req, reply) => {
    const viewer = viewerOf(req)
    if (!tenants.mayManage(callOf(req).actor)) return operatorOnly(reply, viewer)
    return send(reply, 200, newTenantPage({ viewer, values: { id: randomUUID() } }))
  })

  app.get<{ Params: IdParams; Querystring: { saved?: string } }>(
    '/tenants/:id',
    page,
    async (req, reply) => {
      const viewer = viewerOf(req)
      const shown = await tenants.show(callOf(req), req.params.id)
      if (shown.outcome === 'forbidden') return operatorOnly(reply, viewer)
      if (shown.outcome === 'not_found') return tenantNotFound(reply, viewer)
      return send(
        reply,
        200,
        tenantPage({
          viewer,
          tenant: shown.tenant,
          ...(req.query.saved ? { flash: 'Tenant saved.' } : {})
        })
      )
    }
  )

  app.get<{ Params: IdParams }>('/tenants/:id/delete', page, async (req, reply) => {
    const viewer = viewerOf(req)
    const shown = await tenants.show(callOf(req), req.params.id)
    if (shown.outcome === 'forbidden') return operatorOnly(reply, viewer)
    if (shown.outcome === 'not_found') return tenantNotFound(reply, viewer)
    return send(reply, 200, confirmDeleteTenantPage({ viewer, tenant: shown.tenant }))
  })

  withForms(app, (forms) => {
    forms.post<{ Body: Form }>('/tenants', form, async (req, reply) => {
      const viewer = viewerOf(req)
      const { id, input, values } = readNewTenantForm(req.body)
      const created = await tenants.create(callOf(req), { ...input, id })
      if (created.outcome === 'forbidden') return operatorOnly(reply, viewer)
      if (created.outcome === 'invalid') {
        const problem = tenantFormProblem(created.problem)
        return send(reply, 400, newTenantPage({ viewer, values, problem }), 'invalid_request')
      }
      if (created.outcome === 'conflict') {
        const problem = 'A tenant with this ID exists, or existed and was deleted.'
        return send(reply, 409, newTenantPage({ viewer, values, problem }), 'conflict')
      }
      const { generatedApiSecret: apiSecret, generatedWebhookSecret: webhookSecret } = created
      if (apiSecret === undefined && webhookSecret === undefined) {
        return reply.redirect(`/tenants/${created.id}?saved=1`, 303)
      }
      // Shown once, on this answer alone (console pages are never cached), never in a URL.
      const secrets = { apiSecret, webhookSecret }
      const title = 'Tenant created'
      return send(
        reply,
        201,
        generatedSecretsPage({ viewer, title, tenantId: created.id, secrets })
      )
    })

    forms.post<{ Params: IdParams; Body: Form }>('/tenants/:id', form, async (req, reply) => {
      const viewer = viewerOf(req)
      const call = callOf(req)
      const shown = await tenants.show(call, req.params.id)
      if (shown.outcome === 'forbidden') return operatorOnly(reply, viewer)
      if (shown.outcome === 'not_found') return tenantNotFound(reply, viewer)
      const { tenant } = shown
      const { change, values } = readTenantChange(req.body)
      const updated =
        typeof change === 'string' ? change : await tenants.update(call, tenant.id, change)
      if (typeof updated !== 'string' && updated.outcome === 'forbidden') {
        return operatorOnly(reply, viewer)
      }
      if (typeof updated === 'string' || updated.outcome === 'invalid') {
        const problem = typeof updated === 'string' ? updated : tenantFormProblem(updated.problem)
        return send(reply, 400, tenantPage({ viewer, tenant, values, problem }), 'invalid_request')
      }
      if (updated.outcome === 'not_found') return tenantNotFound(reply, viewer)
      const webhookSecret = updated.generatedWebhookSecret
      if (webhookSecret === undefined) return reply.redirect(`/tenants/${tenant.id}?saved=1`, 303)
      // As a new tenant's: shown once, on this answer alone.
      const title = 'Tenant saved'
      const secrets = { webhookSecret }
      return send(reply, 200, generatedSecretsPage({ viewer, title, tenantId: tenant.id, secrets }))
    })

    forms.post<{ Params: IdParams; Body: Form }>(
      '/tenants/:id/delete',
      form,
      async (req, reply) => {
        const viewer = viewerOf(req)
        const removed = await tenants.remove(callOf(req), req.params.id)
        switch (removed.outcome) {
          case 'deleted':
            return reply.redirect('/tenants?deleted=1', 303)
          case 'forbidden':
            return operatorOnly(reply, viewer)
          case 'own_tenant':
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
          // 'invalid_date' cannot come of the console (it deletes now), nor 'not_found' twice.
          case 'invalid_date':
          case 'not_found':
            return tenantNotFound(reply, viewer)
        }
      }
    )
  })
}
