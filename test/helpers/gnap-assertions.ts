import assert from 'node:assert/strict'
import { postJson, type TestResponse } from './signed-request.js'
import type { TestServer } from './test-server.js'

/**
 * The response is a GNAP error (RFC 9635 §3.6): `status`, a JSON content type, and exactly
 * `{"error":{"code","description"}}` with `code`; `description` is matched when given.
 */
export function assertGnapError(
  res: TestResponse,
  status: number,
  code: string,
  description?: string | RegExp
): void {
  const context = `${res.status} ${res.text}`
  assert.equal(res.status, status, context)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/, context)
  const body = res.body as { error?: { code?: unknown; description?: unknown } } | undefined
  assert.ok(body && typeof body === 'object', `a JSON body: ${context}`)
  assert.deepEqual(Object.keys(body), ['error'], context)
  assert.ok(body.error && typeof body.error === 'object', context)
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'description'], context)
  assert.equal(body.error.code, code, context)
  assert.equal(typeof body.error.description, 'string', context)
  if (typeof description === 'string') assert.equal(body.error.description, description, context)
  else if (description) assert.match(body.error.description as string, description, context)
}

/** Row count of a table, to prove a refused request wrote nothing. */
export async function countRows(
  server: TestServer,
  table: 'grants' | 'access_tokens' | 'accesses' | 'interactions' | 'subjects'
): Promise<number> {
  const { rows } = await server.services.db.query<{ n: number }>(
    `select count(*)::int as n from ${table}`
  )
  return rows[0]!.n
}

/**
 * The answer issued an access token that is live: introspection (the resource server's view)
 * reports it active, so a token row that was never committed, or was born revoked, fails here.
 * Returns the introspection answer.
 */
export async function assertTokenIssued(
  server: Pick<TestServer, 'introspectionUrl'>,
  res: Pick<TestResponse, 'body' | 'text'>
): Promise<{ active: true; grant: string; access: unknown[] }> {
  const value = (res.body as { access_token?: { value?: unknown } } | undefined)?.access_token
    ?.value
  assert.ok(typeof value === 'string' && value !== '', `an access token is issued: ${res.text}`)
  return assertTokenActive(server, value)
}

/** Introspection reports the token active; returns its answer. */
export async function assertTokenActive(
  server: Pick<TestServer, 'introspectionUrl'>,
  value: string
): Promise<{ active: true; grant: string; access: unknown[] }> {
  const res = await postJson(`${server.introspectionUrl}/`, { access_token: value })
  assert.equal(res.status, 200, res.text)
  const body = res.body as { active: true; grant: string; access: unknown[] }
  assert.equal(body.active, true, `introspection says the token is active: ${res.text}`)
  return body
}
