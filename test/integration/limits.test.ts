import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createConnection } from 'node:net'
import { after, describe, test } from 'node:test'
import { assertGnapError, countRows } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { postJson, send, signedRequest } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import type { TestClient } from '../helpers/wallet-address-server.js'

/**
 * Request size and rate limits: 413 over REQUEST_BODY_LIMIT_BYTES on every listener; 429
 * `too_many_attempts` with Retry-After over RATE_LIMIT_PER_IP (auth listener) and
 * RATE_LIMIT_PER_CLIENT (verified signed requests), shared through Redis when REDIS_URL is set.
 */

const worlds: ServerWithClient[] = []
async function world(env: Record<string, string>): Promise<ServerWithClient> {
  const w = await startServerWithClient(env)
  worlds.push(w)
  return w
}
after(() => Promise.all(worlds.map((w) => w.close())))

let n = 0
const grantBody = (client: TestClient) => ({
  client: client.walletAddress,
  access_token: {
    access: [{ type: 'quote', actions: ['create'], identifier: `${client.walletAddress}/q${++n}` }]
  }
})
const grant = (server: TestServer, client: TestClient, headers?: Record<string, string>) =>
  signedRequest(server.grantUrl, { client, body: grantBody(client), headers })

function assertTooMany(res: Awaited<ReturnType<typeof send>>, what: RegExp) {
  assertGnapError(res, 429, 'too_many_attempts', what)
  const retryAfter = Number(res.headers.get('retry-after'))
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`)
}

describe('REQUEST_BODY_LIMIT_BYTES', () => {
  test('a body over the configured limit is 413 on every listener; one under it is read', async () => {
    const { server, app } = await world({ REQUEST_BODY_LIMIT_BYTES: '2048' })
    const urls = [server.grantUrl, `${server.introspectionUrl}/`]
    for (const url of urls) {
      const big = { access_token: 'x'.repeat(3000) }
      assertGnapError(await postJson(url, big), 413, 'invalid_request')
    }
    // 1.5 KB passes the size check and meets the next ones (the schema, the token lookup).
    const small = { access_token: 'x'.repeat(1500) }
    assertGnapError(await postJson(server.grantUrl, small), 400, 'invalid_request')
    const introspected = await postJson(`${server.introspectionUrl}/`, {
      access_token: 'x'.repeat(64),
      access: [{ type: 'quote', actions: ['read'], identifier: `https://x/${'y'.repeat(1400)}` }]
    })
    assert.deepEqual(introspected.body, { active: false })
    assert.equal((await grant(server, app)).status, 200)
  })
})

describe('RATE_LIMIT_PER_IP', () => {
  test('the auth listener answers 429 past the budget of an address; other addresses, probes and other listeners are not counted', async () => {
    const { server } = await world({ RATE_LIMIT_PER_IP: '5', TRUST_PROXY: 'true' })
    const from = (ip: string) => ({ 'x-forwarded-for': ip })
    const unsigned = (ip: string) => postJson(server.grantUrl, { client: 'x' }, from(ip))
    for (let i = 0; i < 5; i++)
      assertGnapError(await unsigned('198.51.100.7'), 400, 'invalid_request')
    assertTooMany(await unsigned('198.51.100.7'), /too many requests from this address/)
    // A refused request is refused before anything else: an unknown route is counted too.
    assertTooMany(
      await send(`${server.authUrl}/nowhere`, { headers: from('198.51.100.7') }),
      /address/
    )
    assertGnapError(await unsigned('198.51.100.8'), 400, 'invalid_request')
    const probe = await send(`${server.authUrl}/healthz`, { headers: from('198.51.100.7') })
    assert.equal(probe.status, 200)
    const introspected = await postJson(
      `${server.introspectionUrl}/`,
      { access_token: 'x' },
      from('198.51.100.7')
    )
    assert.equal(introspected.status, 200)
  })
})

describe('RATE_LIMIT_PER_CLIENT', () => {
  test('a client gets 429 past its budget, writing nothing; another client is unaffected', async () => {
    const { server, app, wallets } = await world({ RATE_LIMIT_PER_CLIENT: '3' })
    for (let i = 0; i < 3; i++) assert.equal((await grant(server, app)).status, 200)
    const grants = await countRows(server, 'grants')
    assertTooMany(await grant(server, app), /too many requests from this client/)
    assert.equal(await countRows(server, 'grants'), grants)
    const other = wallets.addClient('other', { authServer: server.grantUrl })
    assert.equal((await grant(server, other)).status, 200)
  })

  test("requests whose signature fails do not spend the named client's budget", async () => {
    const { server, app, wallets } = await world({ RATE_LIMIT_PER_CLIENT: '2' })
    const impostor = wallets.addKey('app')
    for (let i = 0; i < 10; i++) {
      const res = await signedRequest(server.grantUrl, {
        client: app,
        key: impostor.privateKey,
        body: grantBody(app)
      })
      assertGnapError(res, 401, 'invalid_client', 'invalid signature')
    }
    assert.equal((await grant(server, app)).status, 200)
    assert.equal((await grant(server, app)).status, 200)
    assertTooMany(await grant(server, app), /client/)
  })
})

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => (socket.destroy(), resolve(false)))
  })
}

describe('shared limits (REDIS_URL)', async () => {
  const redis = await reachable(6379)
  test(
    'two opas processes on one Redis share a client budget and an address budget',
    { skip: redis ? false : 'no Redis on 127.0.0.1:6379' },
    async () => {
      const env = {
        REDIS_URL: 'redis://127.0.0.1:6379',
        RATE_LIMIT_PER_CLIENT: '4',
        RATE_LIMIT_PER_IP: '1000',
        TRUST_PROXY: 'true'
      }
      const first = await world(env)
      const second = await startTestServer({ ...env, OPERATOR_TENANT_ID: first.server.tenantId })
      try {
        // Fresh keys for this run: a client of its own (random port) and an address of its own.
        const ip = `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`
        const headers = { 'x-forwarded-for': ip }
        // Each server has a database of its own; only Redis is shared. The second verifies
        // signatures against its own AUTH_SERVER_URL, so the client signs for it.
        const secondGrant = (client: TestClient) =>
          signedRequest(`${second.authUrl}${new URL(first.server.grantUrl).pathname}`, {
            client,
            body: grantBody(client),
            headers
          })
        assert.equal((await grant(first.server, first.app, headers)).status, 200)
        assert.equal((await grant(first.server, first.app, headers)).status, 200)
        assert.equal((await secondGrant(first.app)).status, 200)
        assert.equal((await secondGrant(first.app)).status, 200)
        assertTooMany(await grant(first.server, first.app, headers), /client/)
        assertTooMany(await secondGrant(first.app), /client/)
      } finally {
        await second.close()
      }
    }
  )

  test('with Redis unreachable, limits are kept per process and nothing fails', async () => {
    const { server, app } = await world({
      REDIS_URL: 'redis://127.0.0.1:1',
      RATE_LIMIT_PER_CLIENT: '2'
    })
    assert.equal((await grant(server, app)).status, 200)
    assert.equal((await grant(server, app)).status, 200)
    assertTooMany(await grant(server, app), /client/)
  })
})
