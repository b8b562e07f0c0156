import type { FastifyInstance } from 'fastify'
import type { EventService } from '../audit/event-service.js'
import type { ConsoleSessions } from '../console/console-sessions.js'
import type { GrantOperations } from '../grant/grant-operations.js'
import type { Metrics } from '../metrics/metrics.js'
import type { TenantOperations } from '../tenant/tenant-operations.js'
import type { WebhookService } from '../webhook/webhook-service.js'
import { registerConsoleActivityRoutes } from './console/console-activity-routes.js'
import { registerConsoleAssetRoutes } from './console/console-asset-routes.js'
import { registerConsoleGrantRoutes } from './console/console-grant-routes.js'
import { createConsoleKit } from './console/console-kit.js'
import { registerConsoleOverviewRoutes } from './console/console-overview-routes.js'
import { registerConsoleSignInRoutes } from './console/console-sign-in-routes.js'
import { registerConsoleTenantRoutes } from './console/console-tenant-routes.js'
import { registerConsoleWebhookRoutes } from './console/console-webhook-routes.js'

/**
 * The operator console (CONSOLE=on) on the admin listener: server-rendered pages over the same
 * services as the admin API and the CLI. Sign-in with a tenant's id and API secret; a session
 * in a signed HttpOnly SameSite=Strict cookie; every form carries the session's token, checked
 * before anything is read or written; nothing changes on a GET. One file per page group under
 * http/console/; what a form means is console/console-forms.ts. Grants and tenants are reached
 * through the operator services (scope, checks, audit events and log lines are theirs), the
 * audit trail through the event service, the webhooks' deliveries through the webhook service.
 */
export function registerConsoleRoutes(
  app: FastifyInstance,
  deps: {
    sessions: ConsoleSessions
    grantOperations: GrantOperations
    tenantOperations: TenantOperations
    events: Pick<EventService, 'list'>
    metrics: Pick<Metrics, 'recent'>
    webhooks: Pick<WebhookService, 'list' | 'find' | 'retryNow' | 'stats'>
    now: () => number
  }
): void {
  const kit = createConsoleKit(deps.sessions)
  registerConsoleAssetRoutes(app)
  registerConsoleSignInRoutes(app, kit)
  registerConsoleGrantRoutes(app, kit, deps)
  registerConsoleActivityRoutes(app, kit, deps)
  registerConsoleWebhookRoutes(app, kit, deps)
  registerConsoleOverviewRoutes(app, kit, deps)
  registerConsoleTenantRoutes(app, kit, deps)
}
