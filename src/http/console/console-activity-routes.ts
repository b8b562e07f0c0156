import type { FastifyInstance } from 'fastify'
import type { EventService } from '../../audit/event-service.js'
import { readActivitySearch } from '../../console/console-forms.js'
import { activityPage } from '../../console/pages/activity-page.js'
import { send, type ConsoleKit } from './console-kit.js'

/** Events a page: the page asks for one more, to know whether an older page exists. */
const PAGE_SIZE = 50

/**
 * The Activity page: the audit trail, newest first, filtered and paged by the `before` cursor.
 * A tenant reads its own tenant's events whatever the query says; the operator every tenant's,
 * or one tenant's when it asks. A filter it cannot read is a 400 page saying what is wrong.
 */
export function registerConsoleActivityRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: { events: Pick<EventService, 'list'>; now: () => number }
): void {
  const { viewerOf, page } = kit

  app.get<{ Querystring: Record<string, unknown> }>('/activity', page, async (req, reply) => {
    const viewer = viewerOf(req)
    const search = readActivitySearch(req.query, {
      now: deps.now(),
      operator: viewer.isOperator
    })
    if (search.problem !== undefined) {
      const { values, problem } = search
      return send(reply, 400, activityPage({ viewer, values, problem }), 'invalid_request')
    }
    const { values, filter, before } = search
    const scoped = viewer.isOperator ? filter : { ...filter, tenantId: viewer.tenantId }
    const found = await deps.events.list(scoped, {
      limit: PAGE_SIZE + 1,
      ...(before ? { before } : {})
    })
    const events = found.slice(0, PAGE_SIZE)
    const older = found.length > PAGE_SIZE ? events.at(-1)?.id : undefined
    return send(
      reply,
      200,
      activityPage({
        viewer,
        values,
        events,
        paged: before !== undefined,
        ...(older ? { older } : {})
      })
    )
  })
}
