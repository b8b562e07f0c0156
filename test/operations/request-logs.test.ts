import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { signedAdminPost } from '../helpers/admin-client.js'
import { consoleClient } from '../helpers/console-client.js'
import { postJson, send } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { startWalletAddressServer, type TestClient } from '../helpers/wallet-address-server.js'
import { createGrantFlows, type GrantFlows } from '../integration/support/grant-flows.js'

/**
 * Logs that explain (issue 13): every answer names its request id and every log line of that
 * request carries it; a refusal logs its GNAP code and reason; a grant's life is logged at info
 * with its id, tenant and client.
 */

interface LogLine {
  msg: string
  level: number
  reqId?: string
  listener?: string
  [key: string]: unknown
}

const lines: LogLine[] = []
let server: TestServer
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>
let client: TestClient
let flows: GrantFlows

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer(
    { LOG_LEVEL: 'info' },
    { logStream: { write: (line) => void lines.push(JSON.parse(line) as LogLine) } }
  )
  client = wallets.addClient('app', { authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  await server.close()
  await wallets.close()
})

const linesOf = (reqId: string) => lines.filter((l) => l.reqId === reqId)
const INFO = 30

/** The one line with this message for this request. */
function lineOf(reqId: string, msg: string): LogLine {
  const found = linesOf(reqId).filter((l) => l.msg === msg)
  assert.equal(
    found.length,
    1,
    `one "${msg}" line for ${reqId}:\n${JSON.stringify(lines.slice(-8), null, 1)}`
  )
  return found[0]!
}

describe('request ids', () => {
  test('every answer carries a new x-request-id, and the request logs under it', async () => {
    const a = await send(`${server.authUrl}/continue/x`, {
      method: 'POST',
      headers: { accept: 'application/json' }
    })
    const b = await send(`${server.authUrl}/continue/x`, {
      method: 'POST',
      headers: { accept: 'application/json' }
    })
    const idA = a.headers.get('x-request-id')!
    assert.match(idA, /^[0-9a-f-]{36}$/)
    assert.notEqual(idA, b.headers.get('x-request-id'))
    assert.equal(lineOf(idA, 'request refused').status, a.status)
  })

  test('a well-formed incoming x-request-id is kept; a malformed one is replaced', async () => {
    const kept = 'edge-7f3a:req/42'
    const res = await send(`${server.introspectionUrl}/`, {
      method: 'POST',
      headers: { 'x-request-id': kept, 'content-type': 'application/json' },
      body: '{}'
    })
    assert.equal(res.headers.get('x-request-id'), kept)
    assert.equal(lineOf(kept, 'request refused').status, 400)
    for (const malformed of ['has spaces in it', 'x'.repeat(129), 'line\\nbreak']) {
      const replaced = await send(`${server.introspectionUrl}/healthz`, {
        headers: { 'x-request-id': malformed }
      })
      assert.match(replaced.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/, malformed)
    }
  })

  test('answers Fastify gives before routing carry one too', async () => {
    const res = await send(`${server.authUrl}/continue/%E0%A4%A`, { method: 'POST' })
    assert.equal(res.status, 400)
    assert.match(res.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/)
  })
})

describe('refusals', () => {
  test('an unsigned grant request logs 401 with the code and the signature reason', async () => {
    const res = await postJson(server.grantUrl, {
      client: client.walletAddress,
      access_token: { access: [] }
    })
    assert.equal(res.status, 401)
    const line = lineOf(res.headers.get('x-request-id')!, 'request refused')
    assert.equal(line.level, INFO)
    assert.equal(line.code, 'invalid_client')
    assert.equal(line.reason, 'missing_headers')
    assert.match(String(line.description), /Signature and Signature-Input are required/)
    assert.equal(line.route, '/:tenantId')
  })

  test('an unknown tenant and a wrong method log their codes and descriptions', async () => {
    const tenant = await postJson(`${server.authUrl}/8b1e0f7c-6d5a-4c3b-9a2f-1e0d9c8b7a6f`, {
      client: client.walletAddress,
      access_token: { access: [{ type: 'incoming-payment', actions: ['read'] }] }
    })
    assert.equal(tenant.status, 404)
    const unknown = lineOf(tenant.headers.get('x-request-id')!, 'request refused')
    assert.deepEqual([unknown.code, unknown.description], ['invalid_request', 'unknown tenant'])
    const method = await send(`${server.authUrl}/token/x`, { method: 'PUT' })
    const wrong = lineOf(method.headers.get('x-request-id')!, 'request refused')
    assert.deepEqual([wrong.status, wrong.description], [405, 'method PUT not allowed here'])
  })

  test('the service API and the admin API log their own codes', async () => {
    const tenant = await send(`${server.serviceUrl}/tenant/${randomUUID()}`, {})
    assert.equal(tenant.status, 404)
    const unknown = lineOf(tenant.headers.get('x-request-id')!, 'request refused')
    assert.deepEqual([unknown.code, unknown.description], ['not_found', 'unknown tenant'])
    const admin = await postJson(`${server.adminUrl}/graphql`, {
      query: '{ grants { edges { cursor } } }'
    })
    assert.equal(admin.status, 401)
    const unsigned = lineOf(admin.headers.get('x-request-id')!, 'request refused')
    assert.deepEqual([unsigned.code, unsigned.reason], ['UNAUTHENTICATED', 'missing'])
  })
})

describe('grant lifecycle at info', () => {
  const tenantId = () => server.services.config.operatorTenantId

  function assertEvent(reqId: string, event: string, grantId?: string) {
    const line = lineOf(reqId, `grant ${event}`)
    assert.equal(line.level, INFO)
    assert.equal(line.event, `grant.${event}`)
    assert.equal(line.tenantId, tenantId())
    assert.equal(line.client, client.walletAddress)
    assert.match(String(line.grantId), /^[0-9a-f-]{36}$/)
    if (grantId) assert.equal(line.grantId, grantId)
    return String(line.grantId)
  }

  test('issued at once, or requested, approved, issued and revoked; and rejected', async () => {
    const before = lines.length
    await flows.requestNonInteractive()
    const issuedLine = lines.slice(before).find((l) => l.msg === 'grant issued')
    assert.ok(issuedLine?.reqId)
    assertEvent(issuedLine.reqId, 'issued')

    const mark = lines.length
    const pending = await flows.requestInteractive()
    const requested = lines.slice(mark).find((l) => l.msg === 'grant requested')
    assert.ok(requested?.reqId)
    const grantId = assertEvent(requested.reqId, 'requested')

    const approvedAt = lines.length
    const { interactRef } = await flows.approve(pending)
    const approved = lines.slice(approvedAt).find((l) => l.msg === 'grant approved')
    assert.ok(approved?.reqId)
    assertEvent(approved.reqId, 'approved', grantId)
    assert.equal(approved.listener, 'interaction')

    const continued = await flows.continueGrant(pending, { interact_ref: interactRef })
    assert.equal(continued.status, 200, continued.text)
    assertEvent(continued.headers.get('x-request-id')!, 'issued', grantId)

    const cancelled = await flows.cancelGrant(pending)
    assert.equal(cancelled.status, 204)
    assertEvent(cancelled.headers.get('x-request-id')!, 'revoked', grantId)

    const rejectedGrant = await flows.requestInteractive()
    const started = await flows.startInteraction(rejectedGrant.redirect)
    const rejectedAt = lines.length
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'reject')).status, 202)
    const rejected = lines.slice(rejectedAt).find((l) => l.msg === 'grant rejected')
    assert.ok(rejected?.reqId)
    assertEvent(rejected.reqId, 'rejected')
  })

  test("an operator's revocation through the admin API is logged once, saying so", async () => {
    const { token } = await flows.requestNonInteractive()
    const grantId = (await flows.introspect(token.value)).grant!
    const revoke = async () => {
      const res = await signedAdminPost(
        `${server.adminUrl}/graphql`,
        { tenantId: tenantId(), apiSecret: server.services.config.adminApiSecret },
        { query: `mutation { revokeGrant(input: { grantId: "${grantId}" }) { id } }` }
      )
      assert.deepEqual(await res.json(), { data: { revokeGrant: { id: grantId } } })
    }
    const mark = lines.length
    await revoke()
    const revoked = lines.slice(mark).filter((l) => l.msg === 'grant revoked')
    assert.equal(revoked.length, 1, JSON.stringify(lines.slice(mark), null, 1))
    const line = revoked[0]!
    assert.equal(line.level, INFO)
    assert.deepEqual(
      [line.event, line.grantId, line.tenantId, line.client, line.by, line.listener],
      ['grant.revoked', grantId, tenantId(), client.walletAddress, 'admin-api', 'admin']
    )
    assert.ok(line.reqId, 'on the request that revoked it')
    // Revoking it again answers the same and logs nothing: nothing was revoked.
    const again = lines.length
    await revoke()
    assert.ok(!lines.slice(again).some((l) => l.msg === 'grant revoked'))
  })

  test("an operator's revocation in the console is logged, saying so", async () => {
    const { token } = await flows.requestNonInteractive()
    const grantId = (await flows.introspect(token.value)).grant!
    const browser = consoleClient(server.adminUrl)
    assert.equal((await browser.signIn(tenantId(), server.env.ADMIN_API_SECRET!)).status, 303)
    const mark = lines.length
    const res = await browser.post(`/grants/${grantId}/revoke`, { csrf: await browser.formToken() })
    assert.equal(res.status, 303)
    const revoked = lines.slice(mark).filter((l) => l.msg === 'grant revoked')
    assert.equal(revoked.length, 1)
    const line = revoked[0]!
    assert.deepEqual(
      [line.event, line.grantId, line.tenantId, line.client, line.by, line.listener],
      ['grant.revoked', grantId, tenantId(), client.walletAddress, 'console', 'admin']
    )
    assert.ok(line.reqId)
  })

  test('every log line of a request carries its id', () => {
    const requestLines = lines.filter(
      (l) => l.listener !== undefined && !/^Server listening/.test(l.msg)
    )
    assert.ok(requestLines.length > 10)
    for (const line of requestLines) assert.ok(line.reqId, JSON.stringify(line))
  })
})
