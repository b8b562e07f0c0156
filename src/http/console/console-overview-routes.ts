import type { FastifyInstance, FastifyRequest } from 'fastify'
import { overviewCharts, overviewPage } from '../../console/pages/overview-page.js'
import type { Metrics } from '../../metrics/metrics.js'
import { send, type ConsoleKit } from './console-kit.js'

/** The overview (the last hour, per minute) and its charts alone, which /console.js refreshes. */
export function registerConsoleOverviewRoutes(
  app: FastifyInstance,
  kit: ConsoleKit,
  deps: { metrics: Pick<Metrics, 'recent'>; now: () => number }
): void {
  const { viewerOf, page } = kit
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
}
