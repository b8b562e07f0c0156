import type { FastifyInstance } from 'fastify'
import { unavailable } from '../gnap/gnap-error.js'
import type { Metrics } from '../metrics/metrics.js'

/** GET /metrics in the Prometheus text exposition format, on the admin listener. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { auth: 'none', rateLimit: false } }, async (_req, reply) => {
    let body: string
    try {
      body = await metrics.scrape()
    } catch (err) {
      // Under --workers: the primary or a worker did not answer in time.
      throw unavailable('metrics unavailable', { cause: err })
    }
    return reply.type(metrics.registry.contentType).send(body)
  })
}
