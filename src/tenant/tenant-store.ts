import type { Queryable } from '../storage/db.js'

/** A tenant: grants belong to one; each has its own IdP (consent URL and shared secret). */
export interface Tenant {
  id: string
  idpConsentUrl: string | null
  idpSecretHash: Uint8Array | null
}

/** A live (not soft-deleted) tenant. */
export async function findTenant(q: Queryable, id: string): Promise<Tenant | undefined> {
  const { rows } = await q.query<Tenant>(
    `select id, idp_consent_url as "idpConsentUrl", idp_secret_hash as "idpSecretHash"
     from tenants where id = $1 and deleted_at is null`,
    [id]
  )
  return rows[0]
}

/**
 * The operator tenant mirrors the configuration on every start (Rafiki seeds it in a migration
 * and re-syncs its admin secret at boot); the IdP secret is stored hashed.
 */
export async function upsertOperatorTenant(
  q: Queryable,
  tenant: {
    id: string
    idpConsentUrl: string | null
    idpSecretHash: Buffer | null
    apiSecret: string | null
  }
): Promise<void> {
  await q.query(
    `insert into tenants (id, idp_consent_url, idp_secret_hash, api_secret)
     values ($1, $2, $3, $4)
     on conflict (id) do update set idp_consent_url = excluded.idp_consent_url,
       idp_secret_hash = excluded.idp_secret_hash, api_secret = excluded.api_secret,
       deleted_at = null, updated_at = now()`,
    [tenant.id, tenant.idpConsentUrl, tenant.idpSecretHash, tenant.apiSecret]
  )
}
