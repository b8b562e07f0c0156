import { randomUUID } from 'node:crypto'
import type { TestServer } from './test-server.js'

/** A tenant as Rafiki's backend sends it to the auth service. */
export interface TenantBody {
  id: string
  apiSecret: string
  idpConsentUrl?: string
  idpSecret?: string
  /** opas's own: the tenant's webhook receiver and signing key (Rafiki's backend sends neither). */
  webhookUrl?: string | null
  webhookSecret?: string | null
}

/** An answer of the service API: its status and parsed JSON body (if any). */
export interface ServiceAnswer {
  status: number
  body: unknown
  headers: Headers
}

/**
 * The service API called exactly as Rafiki backend's `AuthServiceClient` calls it
 * (packages/backend/src/auth-service-client/client.ts): JSON bodies with
 * `Content-Type: application/json`, `deletedAt` as the JSON of a Date, and no authentication
 * unless `bearer` is given (opas's optional SERVICE_API_SECRET).
 */
export function authServiceClient(baseUrl: string, bearer?: string) {
  async function request(path: string, method: string, body?: unknown): Promise<ServiceAnswer> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` })
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
  return {
    create: (data: TenantBody) => request('/tenant', 'POST', data),
    get: (id: string) => request(`/tenant/${id}`, 'GET'),
    update: (id: string, data: Partial<Omit<TenantBody, 'id'>>) =>
      request(`/tenant/${id}`, 'PATCH', data),
    delete: (id: string, deletedAt: Date) => request(`/tenant/${id}`, 'DELETE', { deletedAt })
  }
}

/**
 * Another tenant beside the operator, created through the service API as Rafiki's backend
 * creates one (id, API secret, IdP consent URL and secret). Returned as the server seen
 * through that tenant: its grant endpoint and its IdP secret, so the grant-flow helpers drive
 * it unchanged.
 */
export async function addTenant(
  server: TestServer,
  idp: { consentUrl: string; secret: string }
): Promise<TestServer & { apiSecret: string }> {
  const id = randomUUID()
  const apiSecret = `api-secret-${id}`
  const res = await authServiceClient(server.serviceUrl, server.env.SERVICE_API_SECRET).create({
    id,
    apiSecret,
    idpConsentUrl: idp.consentUrl,
    idpSecret: idp.secret
  })
  if (res.status !== 204) throw new Error(`POST /tenant answered ${res.status}`)
  return {
    ...server,
    tenantId: id,
    idpSecret: idp.secret,
    apiSecret,
    grantUrl: `${server.services.config.authServerUrl}/${id}`
  }
}

/** Soft-deletes a tenant through the service API, as Rafiki's backend does. */
export async function deleteTenant(server: TestServer, id: string): Promise<void> {
  const res = await authServiceClient(server.serviceUrl, server.env.SERVICE_API_SECRET).delete(
    id,
    new Date()
  )
  if (res.status !== 204) throw new Error(`DELETE /tenant/${id} answered ${res.status}`)
}
