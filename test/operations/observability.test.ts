import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { postJson, send, signedRequest } from '../helpers/signed-request.js'
import { startTestServer } from '../helpers/test-server.js'
import { metricSample } from '../helpers/metrics.js'

/** Prometheus /metrics on the admin listener; /healthz (liveness) and /readyz (readiness). */

let world: ServerWithClient
before(async () => {
  world = await startServerWithClient()
})
after(() => world.close())

async function scrape(): Promise<string> {
  const res = await fetch(`${world.server.adminUrl}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return res.text()
}

/** The value of one sample; 0 if absent (a counter not yet counted). */
const sample = (text: string, series: string): number => metricSample(text, series) ?? 0

describe('/metrics', () => {
  test('counts requests, grants, rotations, revocations, introspections and key-cache use', async () => {
    const { server, app } = world
    const before = await scrape()
    const grant = await signedRequest(server.grantUrl, {
      client: app,
      body: {
        client: app.walletAddress,
        access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] }
      }
    })
    assert.equal(grant.status, 200, grant.text)
    const token = (grant.body as { access_token: { value: string; manage: string } }).access_token
    const rotated = await signedRequest(token.manage, {
      client: app,
      method: 'POST',
      token: token.value
    })
    assert.equal(rotated.status, 200, rotated.text)
    const next = (rotated.body as { access_token: { value: string; manage: string } }).access_token
    await postJson(`${server.introspectionUrl}/`, { access_token: next.value })
    await postJson(`${server.introspectionUrl}/`, { access_token: token.value })
    const revoked = await signedRequest(next.manage, {
      client: app,
      method: 'DELETE',
      token: next.value
    })
    assert.equal(revoked.status, 204)
    await send(`${server.authUrl}/no/such/route`, {})

    const after = await scrape()
    const grew = (series: string) => sample(after, series) - sample(before, series)
    assert.equal(grew('opas_grants_issued_total{type="incoming-payment"}'), 1)
    assert.equal(grew('opas_token_rotations_total'), 1)
    assert.equal(grew('opas_revocations_total{what="token"}'), 1)
    assert.equal(grew('opas_introspections_total{result="active"}'), 1)
    assert.equal(grew('opas_introspections_total{result="inactive"}'), 1)
    // The client's keys were fetched once (a miss: its first request) and then served from
    // the cache.
    assert.equal(grew('opas_client_key_cache_total{cache="jwks",event="miss"}'), 1)
    assert.ok(grew('opas_client_key_cache_total{cache="jwks",event="hit"}') >= 2)
    const tenantRoute = `listener="auth",route="/:tenantId",method="POST"`
    assert.equal(grew(`opas_http_requests_total{${tenantRoute},status="200"}`), 1)
    assert.equal(grew(`opas_http_request_duration_seconds_count{${tenantRoute}}`), 1)
    assert.match(after, /opas_http_request_duration_seconds_bucket\{le="0.005",listener="auth"/)
    // Unmatched paths are one series, whatever the URL (no label explosion from scanners).
    assert.ok(
      grew(
        'opas_http_requests_total{listener="auth",route="unmatched",method="GET",status="404"}'
      ) >= 1
    )
    assert.doesNotMatch(after, /no\/such\/route/)
    assert.ok(sample(after, 'opas_db_pool_connections{state="total"}') >= 1)
    assert.ok(sample(after, 'opas_process_resident_memory_bytes') > 0)
    // Token values never appear in metrics.
    assert.ok(!after.includes(token.value) && !after.includes(next.value))
  })
})

describe('/healthz and /readyz', () => {
  test('/readyz is 503 while a migration this build knows is missing; /healthz stays 200', async () => {
    const { server } = world
    const { rows } = await server.services.db.query<{ version: number; name: string }>(
      'select version, name from opas_migrations order by version desc limit 1'
    )
    const latest = rows[0]!
    await server.services.db.query('delete from opas_migrations where version = $1', [
      latest.version
    ])
    try {
      for (const url of [
        server.authUrl,
        server.interactionUrl,
        server.introspectionUrl,
        server.adminUrl
      ]) {
        const ready = await send(`${url}/readyz`, {})
        assert.equal(ready.status, 503, ready.text)
        assert.deepEqual(ready.body, {
          error: { code: 'request_denied', description: 'database schema is not migrated' }
        })
        assert.equal((await send(`${url}/healthz`, {})).status, 200)
      }
    } finally {
      await server.services.db.query(
        'insert into opas_migrations (version, name) values ($1, $2)',
        [latest.version, latest.name]
      )
    }
    assert.equal((await send(`${server.authUrl}/readyz`, {})).status, 200)
  })

  test('/readyz is 503 when the database is gone; /healthz (liveness) stays 200', async () => {
    const server = await startTestServer()
    await server.services.db.close()
    try {
      const ready = await send(`${server.authUrl}/readyz`, {})
      assert.equal(ready.status, 503, ready.text)
      assert.deepEqual(ready.body, {
        error: { code: 'request_denied', description: 'database unavailable' }
      })
      assert.equal((await send(`${server.authUrl}/healthz`, {})).status, 200)
    } finally {
      await server.close().catch(() => {})
    }
  })
})
