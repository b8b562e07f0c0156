import type { FastifyInstance } from 'fastify'
import { GnapError } from '../gnap/gnap-error.js'
import type { Db } from '../storage/db.js'

/** GET /healthz on every listener: the process answers and the database does too. */
export function registerHealthRoutes(app: FastifyInstance, deps: { db: Db }): void {
  app.get('/healthz', { config: { auth: 'none' } }, async () => {
    try {
      await deps.db.query('select 1')
    } catch (err) {
      throw new GnapError(503, 'request_denied', 'database unavailable', { cause: err })
    }
    return { status: 'ok' }
  })
}
