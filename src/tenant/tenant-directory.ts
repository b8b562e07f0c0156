import { LRUCache } from 'lru-cache'
import type { Queryable } from '../storage/db.js'
import { findTenant, upsertOperatorTenant, type Tenant } from './tenant-store.js'

export type { Tenant } from './tenant-store.js'

/**
 * Live tenants by id, cached briefly: every grant request names its tenant, and tenants change
 * rarely. A change (or a deletion) is seen within `ttlMs`; unknown ids are not cached, so a new
 * tenant is usable at once.
 */
export function createTenantDirectory(deps: { db: Queryable; ttlMs: number; maxEntries?: number }) {
  const cache = new LRUCache<string, Tenant>({ max: deps.maxEntries ?? 10_000, ttl: deps.ttlMs })
  return {
    async find(id: string): Promise<Tenant | undefined> {
      const cached = cache.get(id)
      if (cached) return cached
      const tenant = await findTenant(deps.db, id)
      if (tenant) cache.set(id, tenant)
      return tenant
    },
    /** The operator tenant, as the configuration says on every start (tenant-store). */
    async syncOperator(tenant: Parameters<typeof upsertOperatorTenant>[1]): Promise<void> {
      await upsertOperatorTenant(deps.db, tenant)
      cache.delete(tenant.id)
    },
    /** Drops a changed or deleted tenant at once in this process (other processes: `ttlMs`). */
    forget(id: string): void {
      cache.delete(id)
    }
  }
}

export type TenantDirectory = ReturnType<typeof createTenantDirectory>
