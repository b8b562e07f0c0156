import type { FastifyInstance } from 'fastify'
import { consoleScript } from '../../console/pages/console-script.js'

/**
 * The console's one static asset, /console.js (the overview's live charts), open to anyone: it
 * holds nothing of a session. The style sheet is inline in every page, allowed by its hash.
 */
export function registerConsoleAssetRoutes(app: FastifyInstance): void {
  app.get('/console.js', { config: { auth: 'none' } }, async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(consoleScript)
  )
}
