import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Form } from '../../console/console-forms.js'
import { deliveryInWords } from '../../console/pages/delivery-words.js'
import { noticePage, type Viewer } from '../../console/pages/layout.js'
import { webhooksPage, webhooksUrl } from '../../console/pages/webhooks-page.js'
import { readRetryForm, readWebhookSearch } from '../../console/webhook-forms.js'
import { isUuid } from '../../gnap/wire.js'
import type { WebhookService } from '../../webhook/webhook-service.js'
import { originOf } from '../event-origin.js'
import { send, withForms, type ConsoleKit, type IdParams } from './console-kit.js'

/** Deliveries a page: the page asks for one more, to know whether an older page exists. */
const PAGE_SIZE = 50

/**
 * Whose deliveries a viewer sees and retries, by the Activity page's rule: the operator every
 * one (undefined), any other tenant those to its own webhook URL.
 */
const scopeOf = (viewer: Viewer): string | undefined =>
  viewer.isOperator ? undefined : viewer.tenantId

const notRetried = (
  reply: FastifyReply,
  viewer: Viewer,
  status: number,
  refusal: string,
  message: string
) =>
  send(
    reply,
    status,
    noticePage(
      { title: 'Not retried', message, link: { href: '/webhooks', text: 'Webhooks' } },
      viewer
    ),
    refusal
  )

/**
 * The Webhooks page: the deliveries, newest first, filtered by state and grant and paged by the
 * `before` cursor, and "retry now" for one waiting for its retry or given up. Another tenant's
 * delivery (or the operator's, to WEBHOOK_URL) is answered as an unknown one.
 */
export function registerConsoleWebhookRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: {
    webhooks: Pick<WebhookService, 'list' | 'find' | 'retryNow' | 'stats'>
    now: () => number
  }
): void {
  const { viewerOf, page } = kit
  const { webhooks } = deps

  app.get<{ Querystring: Record<string, unknown> }>('/webhooks', page, async (req, reply) => {
    const viewer = viewerOf(req)
    const now = deps.now()
    const search = readWebhookSearch(req.query)
    const flash =
      req.query.retried === '1' ? 'Retry asked: the webhook is sent again in a moment.' : undefined
    // The counts are the whole server's: the operator's alone to read.
    const stats = viewer.isOperator ? await webhooks.stats() : undefined
    const frame = { viewer, now, ...(stats ? { stats } : {}), ...(flash ? { flash } : {}) }
    if (search.problem !== undefined) {
      const { values, problem } = search
      return send(reply, 400, webhooksPage({ ...frame, values, problem }), 'invalid_request')
    }
    const { values, filter, before } = search
    const tenantId = scopeOf(viewer)
    const found = await webhooks.list(tenantId ? { ...filter, tenantId } : filter, {
      limit: PAGE_SIZE + 1,
      ...(before ? { before } : {})
    })
    const deliveries = found.slice(0, PAGE_SIZE)
    const older = found.length > PAGE_SIZE ? deliveries.at(-1)?.eventId : undefined
    return send(
      reply,
      200,
      webhooksPage({
        ...frame,
        values,
        deliveries,
        paged: before !== undefined,
        ...(older ? { older } : {})
      })
    )
  })

  withForms(app, (forms) => {
    forms.post<{ Params: IdParams; Body: Form }>(
      '/webhooks/:id/retry',
      kit.form,
      async (req, reply) => {
        const viewer = viewerOf(req)
        const scope = scopeOf(viewer)
        const { id } = req.params
        const delivery = isUuid(id) ? await webhooks.find(id, scope) : undefined
        if (!delivery) {
          return notRetried(
            reply,
            viewer,
            404,
            'unknown_webhook',
            'There is no webhook with this id that you may see. Nothing was changed.'
          )
        }
        const words = deliveryInWords(delivery, deps.now())
        if (!words.retryable) {
          const why =
            delivery.state === 'delivered'
              ? 'This webhook is already delivered.'
              : `This webhook cannot be retried now: ${words.state.charAt(0).toLowerCase()}${words.state.slice(1)}`
          return notRetried(
            reply,
            viewer,
            409,
            'webhook_not_retryable',
            `${why} Nothing was changed.`
          )
        }
        const asked = {
          ...originOf(req, { kind: 'console', tenantId: viewer.tenantId }),
          log: req.log,
          ...(scope ? { tenantId: scope } : {})
        }
        if (!(await webhooks.retryNow(id, asked))) {
          return notRetried(
            reply,
            viewer,
            409,
            'webhook_not_retryable',
            'This webhook changed meanwhile (delivered, or being tried). Nothing was changed. Reload the page to see it.'
          )
        }
        const back = webhooksUrl(readRetryForm(req.body))
        return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}retried=1`, 303)
      }
    )
  })
}
