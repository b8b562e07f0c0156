import { randomUUID } from 'node:crypto'
import { hashSecret } from '../../src/gnap/secrets.js'
import type { TestServer } from './test-server.js'

/**
 * Another tenant beside the operator, written as Rafiki's backend creates one (service API
 * `POST /tenant`: id, API secret, IdP consent URL and secret). Returned as the server seen
 * through that tenant: its grant endpoint and its IdP secret, so the grant-flow helpers drive
 * it unchanged.
 */
export async function addTenant(
  server: TestServer,
  idp: { consentUrl: string; secret: string }
): Promise<TestServer> {
  const id = randomUUID()
  await server.services.db.query(
    `insert into tenants (id, idp_consent_url, idp_secret_hash, api_secret)
     values ($1, $2, $3, $4)`,
    [id, idp.consentUrl, hashSecret(idp.secret), `api-secret-${id}`]
  )
  return {
    ...server,
    tenantId: id,
    idpSecret: idp.secret,
    grantUrl: `${server.services.config.authServerUrl}/${id}`
  }
}

/**
 * Soft-deletes a tenant as the service API's `DELETE /tenant/:id` does, and drops it from this
 * process's tenant cache (the service API's own process sees a deletion at once).
 */
export async function deleteTenant(server: TestServer, id: string): Promise<void> {
  await server.services.db.query('update tenants set deleted_at = now() where id = $1', [id])
  server.services.tenants.forget(id)
}
