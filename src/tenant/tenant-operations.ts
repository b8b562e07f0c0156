import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Actor, EventOrigin } from '../audit/events.js'
import type {
  TenantCreation,
  TenantDirectory,
  TenantInput,
  TenantUpdate,
  TenantView
} from './tenant-directory.js'

/*
 * Tenants as operators reach them, whatever the door (the service API, the console, the CLI):
 * who may manage them is decided here, the change is checked by the tenant rules and written
 * with its audit event in one transaction (the tenant directory), and logged here, once. Each
 * door parses, calls and words the outcome.
 */

/** Who asks, and from where: decides whether it may, and becomes the audit event's actor. */
export interface TenantCall extends EventOrigin {
  /** The request's logger (its lines carry the request id); the CLI passes its own. */
  log: Pick<Logger, 'info'>
}

/** The caller may not manage tenants (a tenant other than the operator, at the console). */
export type Forbidden = { outcome: 'forbidden' }

export type TenantListing =
  { outcome: 'listed'; tenants: (TenantView & { createdAt: Date })[] } | Forbidden

export type TenantShown =
  { outcome: 'found'; tenant: TenantView } | { outcome: 'not_found' } | Forbidden

export type TenantRemoval =
  | { outcome: 'deleted' }
  | { outcome: 'not_found' }
  /** Not a date the database keeps (a year from 1 to 9999). */
  | { outcome: 'invalid_date' }
  /** A tenant deleting itself, the one it is signed in as (the operator tenant, at the console). */
  | { outcome: 'own_tenant' }
  | Forbidden

const forbidden: Forbidden = { outcome: 'forbidden' }

/** The fields a change names (never their values: secrets), for its log line. */
const named = (input: TenantInput) =>
  (['apiSecret', 'idpConsentUrl', 'idpSecret', 'webhookUrl', 'webhookSecret'] as const).filter(
    (f) => input[f] !== undefined
  )

export function createTenantOperations(deps: {
  directory: Pick<TenantDirectory, 'list' | 'show' | 'create' | 'update' | 'remove'>
  /** OPERATOR_TENANT_ID: the one tenant that manages the others at the console. */
  operatorTenantId: string
  now: () => number
}) {
  const { directory } = deps
  const operatorTenantId = deps.operatorTenantId.toLowerCase()

  /**
   * Who manages tenants: Rafiki's backend through the service API (it authenticated with
   * SERVICE_API_SECRET, or the port is its alone), the operator at this host's shell, and at
   * the console the operator tenant alone. No other tenant, and no client, ever.
   */
  function mayManage(actor: Actor): boolean {
    switch (actor.kind) {
      case 'service-api':
      case 'cli':
        return true
      case 'console':
        return actor.tenantId?.toLowerCase() === operatorTenantId
      default:
        return false
    }
  }

  const origin = ({ actor, requestId, remoteAddress }: TenantCall): EventOrigin => ({
    actor,
    ...(requestId === undefined ? {} : { requestId }),
    ...(remoteAddress === undefined ? {} : { remoteAddress })
  })

  /** The change's one line, after its commit: what, which tenant, through which door. */
  const logChange = (
    call: TenantCall,
    what: 'created' | 'updated' | 'deleted',
    tenantId: string,
    changed?: string[]
  ) =>
    call.log.info(
      {
        event: `tenant.${what}`,
        tenantId,
        by: call.actor.kind,
        ...(changed ? { changed } : {})
      },
      `tenant ${what}`
    )

  return {
    mayManage,

    /** Every live tenant, oldest first. */
    async list(call: TenantCall): Promise<TenantListing> {
      if (!mayManage(call.actor)) return forbidden
      return { outcome: 'listed', tenants: await directory.list() }
    },

    /**
     * A live tenant as operators see it (neither its IdP nor its webhook secret ever shown); a
     * malformed id is none.
     */
    async show(call: TenantCall, id: string): Promise<TenantShown> {
      if (!mayManage(call.actor)) return forbidden
      const tenant = await directory.show(id)
      return tenant ? { outcome: 'found', tenant } : { outcome: 'not_found' }
    },

    /**
     * A new tenant, checked by the tenant rules (tenant-rules.ts) and written with its
     * `tenant.created` event; a new id when none is given, an API secret generated when none
     * is given (answered once, `generatedApiSecret`), and a webhook secret when a webhook URL
     * is given without one (answered once, `generatedWebhookSecret`).
     */
    async create(
      call: TenantCall,
      input: TenantInput & { id?: string | undefined }
    ): Promise<TenantCreation | Forbidden> {
      if (!mayManage(call.actor)) return forbidden
      const { id, ...fields } = input
      const created = await directory.create(id ?? randomUUID(), fields, origin(call))
      if (created.outcome === 'created') {
        logChange(call, 'created', created.id, named(fields))
      }
      return created
    },

    /**
     * A change to a live tenant, checked by the same rules, with its `tenant.updated` event; a
     * webhook secret generated as for a new tenant is answered once (`generatedWebhookSecret`).
     */
    async update(
      call: TenantCall,
      id: string,
      input: TenantInput
    ): Promise<TenantUpdate | Forbidden> {
      if (!mayManage(call.actor)) return forbidden
      const updated = await directory.update(id, input, origin(call))
      if (updated.outcome === 'updated') logChange(call, 'updated', id.toLowerCase(), named(input))
      return updated
    },

    /**
     * A soft delete (its grant endpoint answers 404 from now), with its `tenant.deleted`
     * event: at `deletedAt` (Rafiki's backend sends its own time), else now. A caller signed
     * in as a tenant cannot delete that tenant (it would lock itself out); the service API may
     * delete any, the operator's included (its start-up warning says so).
     */
    async remove(call: TenantCall, id: string, deletedAt?: Date): Promise<TenantRemoval> {
      if (!mayManage(call.actor)) return forbidden
      const at = deletedAt ?? new Date(deps.now())
      const year = at.getUTCFullYear()
      // The database keeps four-digit years (and so does every date a backend sends).
      if (Number.isNaN(year) || year < 1 || year > 9999) return { outcome: 'invalid_date' }
      const actorTenant = call.actor.kind === 'console' ? call.actor.tenantId : null
      if (actorTenant && actorTenant.toLowerCase() === id.toLowerCase()) {
        return { outcome: 'own_tenant' }
      }
      if (!(await directory.remove(id, at, origin(call)))) return { outcome: 'not_found' }
      logChange(call, 'deleted', id.toLowerCase())
      return { outcome: 'deleted' }
    }
  }
}

export type TenantOperations = ReturnType<typeof createTenantOperations>
