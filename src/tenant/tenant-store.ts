import type { Queryable } from '../storage/db.js'

/** A tenant: grants belong to one; each has its own IdP (consent URL and shared secret). */
export interface Tenant {
  id: string
  idpConsentUrl: string | null
  idpSecretHash: Uint8Array | null
}

/** A tenant's row as the service API manages it: the API secret sealed (secret-box.ts). */
export interface TenantRecord extends Tenant {
  apiSecretSealed: Uint8Array | null
  /** Its own webhook receiver, and the key its webhooks are signed with (sealed). */
  webhookUrl: string | null
  webhookSecretSealed: Uint8Array | null
}

const COLUMNS = `id, idp_consent_url as "idpConsentUrl", idp_secret_hash as "idpSecretHash",
  api_secret_encrypted as "apiSecretSealed", webhook_url as "webhookUrl",
  webhook_secret_encrypted as "webhookSecretSealed"`

/** A live (not soft-deleted) tenant. */
export async function findTenant(
  q: Queryable,
  id: string,
  options: { lock?: boolean } = {}
): Promise<TenantRecord | undefined> {
  const { rows } = await q.query<TenantRecord>(
    `select ${COLUMNS} from tenants where id = $1 and deleted_at is null
     ${options.lock ? 'for update' : ''}`,
    [id]
  )
  return rows[0]
}

/** Every live tenant, oldest first. */
export async function listTenants(q: Queryable): Promise<(TenantRecord & { createdAt: Date })[]> {
  const { rows } = await q.query<TenantRecord & { createdAt: Date }>(
    `select ${COLUMNS}, created_at as "createdAt" from tenants where deleted_at is null
     order by created_at, id`
  )
  return rows
}

/** Inserts a tenant; false when the id is taken (by a live or a deleted tenant). */
export async function insertTenant(q: Queryable, tenant: TenantRecord): Promise<boolean> {
  const { rowCount } = await q.query(
    `insert into tenants (id, idp_consent_url, idp_secret_hash, api_secret_encrypted,
       webhook_url, webhook_secret_encrypted)
     values ($1, $2, $3, $4, $5, $6) on conflict (id) do nothing`,
    [
      tenant.id,
      tenant.idpConsentUrl,
      tenant.idpSecretHash,
      tenant.apiSecretSealed,
      tenant.webhookUrl,
      tenant.webhookSecretSealed
    ]
  )
  return rowCount === 1
}

/** The columns a change may set; an absent one is left as it is. */
export type TenantChange = Partial<Omit<TenantRecord, 'id'>>

const CHANGEABLE: Record<keyof TenantChange, string> = {
  idpConsentUrl: 'idp_consent_url',
  idpSecretHash: 'idp_secret_hash',
  apiSecretSealed: 'api_secret_encrypted',
  webhookUrl: 'webhook_url',
  webhookSecretSealed: 'webhook_secret_encrypted'
}

/** Changes a live tenant; false when there is none with this id. */
export async function updateTenant(
  q: Queryable,
  id: string,
  change: TenantChange
): Promise<boolean> {
  const keys = (Object.keys(CHANGEABLE) as (keyof TenantChange)[]).filter(
    (k) => change[k] !== undefined
  )
  const sets = keys.map((k, i) => `${CHANGEABLE[k]} = $${i + 2}`)
  const { rowCount } = await q.query(
    `update tenants set ${[...sets, 'updated_at = now()'].join(', ')}
     where id = $1 and deleted_at is null`,
    [id, ...keys.map((k) => change[k])]
  )
  return rowCount === 1
}

/**
 * Soft-deletes a live tenant as of `deletedAt` (Rafiki's backend passes its own time): its grant
 * endpoint answers 404 and its tokens introspect inactive from then on. False when none.
 */
export async function softDeleteTenant(
  q: Queryable,
  id: string,
  deletedAt: Date
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update tenants set deleted_at = $2, updated_at = now() where id = $1 and deleted_at is null`,
    [id, deletedAt]
  )
  return rowCount === 1
}

/** Whether any live tenant has a webhook receiver of its own. */
export async function anyTenantWebhook(q: Queryable): Promise<boolean> {
  const { rows } = await q.query<{ any: boolean }>(
    `select exists (select 1 from tenants where webhook_url is not null and deleted_at is null)
       as any`
  )
  return rows[0]!.any
}

/** Inserts the operator tenant, or brings a deleted one back; the row, as it now stands. */
export async function seedTenant(
  q: Queryable,
  tenant: TenantRecord
): Promise<TenantRecord & { inserted: boolean }> {
  // xmax is 0 on a row this statement inserted, and set on one it updated (ON CONFLICT).
  const { rows } = await q.query<TenantRecord & { inserted: boolean }>(
    `insert into tenants (id, idp_consent_url, idp_secret_hash, api_secret_encrypted)
     values ($1, $2, $3, $4)
     on conflict (id) do update set deleted_at = null,
       updated_at = case when tenants.deleted_at is null then tenants.updated_at else now() end
     returning ${COLUMNS}, xmax = 0 as inserted`,
    [tenant.id, tenant.idpConsentUrl, tenant.idpSecretHash, tenant.apiSecretSealed]
  )
  return rows[0]!
}
