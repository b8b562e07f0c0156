import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../metrics/metrics.js'

/** GET /metrics in the Prometheus text exposition format, on the admin listener. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { auth: 'none', rateLimit: false } }, async (_req, reply) => {
    const body = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(body)
  })
}
