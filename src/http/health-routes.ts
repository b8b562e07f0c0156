import type { FastifyInstance } from 'fastify'
import { unavailable } from '../gnap/gnap-error.js'

/** What readiness asks the database: the migration it carries, and the newest this build knows. */
export interface SchemaProbe {
  appliedVersion(): Promise<number>
  latestVersion(): number
}

// Probes are exempt from the per-IP rate limit: an orchestrator polls them all day long.
const probe = { config: { auth: 'none' as const, rateLimit: false as const } }

/**
 * On every listener: GET /healthz, liveness (the process answers; it does not touch the
 * database, so a database outage never makes an orchestrator restart healthy processes), and
 * GET /readyz, readiness (the database answers and carries every migration this build knows).
 */
export function registerHealthRoutes(app: FastifyInstance, deps: { schema: SchemaProbe }): void {
  const latestMigration = deps.schema.latestVersion()

  app.get('/healthz', probe, async () => ({ status: 'ok' }))

  app.get('/readyz', probe, async () => {
    let version: number
    try {
      version = await deps.schema.appliedVersion()
    } catch (err) {
      throw unavailable('database unavailable', { cause: err })
    }
    // A newer opas sharing the database may have applied more: that is still ready.
    if (version < latestMigration) {
      throw unavailable('database schema is not migrated')
    }
    return { status: 'ready' }
  })
}
