import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { loadOpenApiContract, type OpenApiContract } from '../helpers/openapi-contract.js'
import { signedRequest, type TestResponse } from '../helpers/signed-request.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient } from '../helpers/wallet-address-server.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'

/** Shared pieces of the contract tests (not a test file: the runner only runs *.test.ts). */

const root = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url))

export const idpContract = () => loadOpenApiContract(root('specs/id-provider.yaml'))
export const introspectionContract = () =>
  loadOpenApiContract(root('specs/token-introspection.yaml'))
export const authServerContract = () =>
  loadOpenApiContract(
    root('node_modules/@interledger/open-payments/dist/openapi/specs/auth-server.yaml')
  )

/** What a response's body is for the contract: the parsed JSON, the raw text, or nothing. */
export function bodyOf(res: TestResponse): unknown {
  if (res.text === '') return undefined
  return res.body !== undefined ? res.body : res.text
}

/** Asserts the response conforms to the spec operation `method path` (status included). */
export function assertContract(
  contract: OpenApiContract,
  method: string,
  path: string,
  res: TestResponse
): void {
  const errors = contract.validateResponse(path, method, res.status, bodyOf(res))
  assert.deepEqual(errors, [], `${method} ${path} answered ${res.status} ${res.text}`)
  const type = res.headers.get('content-type') ?? ''
  if (bodyOf(res) !== undefined && res.status !== 302) {
    assert.match(type, /^application\/json/, `JSON content type, got ${type}`)
  }
}

/**
 * For answers the spec does not allow (by default: a status it does not list): the validator
 * must flag exactly that (so the deviation is real and known), and the answer must still be the
 * GNAP error envelope (RFC 9635 §3.6).
 */
export function assertDeviation(
  contract: OpenApiContract,
  method: string,
  path: string,
  res: TestResponse,
  expected: { status: number; code: string; contractError?: RegExp }
): void {
  assertGnapError(res, expected.status, expected.code)
  const errors = contract.validateResponse(path, method, res.status, bodyOf(res))
  assert.ok(errors.length > 0, `${method} ${path} ${res.status} unexpectedly conforms`)
  const pattern = expected.contractError ?? /status not listed/
  assert.ok(
    errors.every((e) => pattern.test(e) || /must match exactly one schema in oneOf/.test(e)),
    errors.join('\n')
  )
  assert.ok(
    errors.some((e) => pattern.test(e)),
    errors.join('\n')
  )
}

export { assertGnapError }

export const incoming = (identifier?: string) => ({
  type: 'incoming-payment',
  actions: ['create', 'read', 'list'],
  ...(identifier !== undefined ? { identifier } : {})
})

export const outgoingWithLimits = (identifier: string, receiverOrigin: string) => ({
  type: 'outgoing-payment',
  actions: ['create', 'read'],
  identifier,
  limits: {
    receiver: `${receiverOrigin}/bob/incoming-payments/48884225-b393-4872-90de-1b737e2491c2`,
    debitAmount: { value: '18446744073709551615', assetCode: 'USD', assetScale: 2 },
    interval: 'R12/2026-01-01T00:00:00Z/P1M'
  }
})

export const interactWith = (finish: boolean) => ({
  start: ['redirect'],
  ...(finish
    ? { finish: { method: 'redirect', uri: 'http://127.0.0.1:9/return', nonce: 'client-nonce' } }
    : {})
})

/** A signed grant request at the operator tenant's grant endpoint (or `url`). */
export function requestGrant(
  server: TestServer,
  client: TestClient,
  body: Record<string, unknown>,
  url = server.grantUrl
): Promise<TestResponse> {
  return signedRequest(url, { client, body: { client: client.walletAddress, ...body } })
}

export interface PendingGrant {
  id: string
  nonce: string
  redirect: string
  continueUri: string
  continueToken: string
}

/** Requests an interactive grant and returns its interaction id and nonce (from the redirect). */
export async function pendingGrant(
  server: TestServer,
  client: TestClient,
  body: Record<string, unknown>
): Promise<PendingGrant> {
  const res = await requestGrant(server, client, body)
  assert.equal(res.status, 200, res.text)
  const grant = res.body as {
    interact: { redirect: string }
    continue: { uri: string; access_token: { value: string } }
  }
  const redirect = new URL(grant.interact.redirect)
  const [, , id, nonce] = redirect.pathname.split('/')
  assert.ok(id && nonce, grant.interact.redirect)
  return {
    id,
    nonce,
    redirect: grant.interact.redirect,
    continueUri: grant.continue.uri,
    continueToken: grant.continue.access_token.value
  }
}
