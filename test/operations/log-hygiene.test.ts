import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { after, before, test } from 'node:test'
import { driveInteraction } from '../helpers/interaction-driver.js'
import { postJson, send, signedRequest } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { startWalletAddressServer, type TestClient } from '../helpers/wallet-address-server.js'

// Structured logs must never carry token values, secrets, signatures or cookies, whatever the
// request; every line is captured at the most verbose level and searched for them.
const lines: string[] = []
let server: TestServer
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>
let client: TestClient

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer(
    { LOG_LEVEL: 'trace' },
    { logStream: { write: (line) => void lines.push(line) } }
  )
  client = wallets.addClient('app', { authServer: server.grantUrl })
})
after(async () => {
  await server.close()
  await wallets.close()
})

test('no token, secret, signature or cookie value reaches the logs', async () => {
  const secrets: string[] = [server.idpSecret, server.env.COOKIE_KEY!, server.env.ADMIN_API_SECRET!]
  const access = [{ type: 'incoming-payment', actions: ['create', 'read'] }]

  const grant = await signedRequest(server.grantUrl, {
    client,
    body: { client: client.walletAddress, access_token: { access } }
  })
  assert.equal(grant.status, 200)
  const issued = grant.body as {
    access_token: { value: string; manage: string }
    continue: { access_token: { value: string } }
  }
  secrets.push(issued.access_token.value, issued.continue.access_token.value)

  const rotated = await signedRequest(issued.access_token.manage, {
    client,
    method: 'POST',
    token: issued.access_token.value
  })
  assert.equal(rotated.status, 200)
  secrets.push((rotated.body as { access_token: { value: string } }).access_token.value)

  // Refused requests log at info: a wrong token, a bad signature, a bad IdP secret.
  const wrongToken = 'not-the-token-' + 'x'.repeat(30)
  secrets.push(wrongToken)
  assert.equal(
    (await signedRequest(issued.access_token.manage, { client, method: 'POST', token: wrongToken }))
      .status,
    401
  )
  const otherKey = generateKeyPairSync('ed25519').privateKey
  const forged = await signedRequest(server.grantUrl, {
    client,
    key: otherKey,
    body: { client: client.walletAddress, access_token: { access } }
  })
  assert.equal(forged.status, 401)
  await postJson(`${server.introspectionUrl}/`, { access_token: issued.access_token.value })

  // An interaction: session cookie, IdP secret and the finish hash.
  const pending = await signedRequest(server.grantUrl, {
    client,
    body: {
      client: client.walletAddress,
      access_token: {
        access: [
          { type: 'outgoing-payment', actions: ['create'], identifier: `${wallets.url}/alice` }
        ]
      },
      interact: {
        start: ['redirect'],
        finish: { method: 'redirect', uri: 'http://127.0.0.1:9/back', nonce: 'n' }
      }
    }
  })
  assert.equal(pending.status, 200)
  const body = pending.body as {
    interact: { redirect: string; finish: string }
    continue: { access_token: { value: string } }
  }
  secrets.push(body.continue.access_token.value, body.interact.finish)
  const start = await send(body.interact.redirect, {})
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!
  secrets.push(decodeURIComponent(cookie))
  const { finish } = await driveInteraction(server, body.interact.redirect, 'accept')
  const back = new URL(finish.headers.get('location')!)
  secrets.push(back.searchParams.get('hash')!)
  const idp = new URL(start.headers.get('location')!)
  await send(
    `${server.interactionUrl}/grant/${idp.searchParams.get('interactId')}/${idp.searchParams.get('nonce')}`,
    {
      headers: { 'x-idp-secret': 'wrong-secret-value-that-must-not-be-logged' }
    }
  )
  secrets.push('wrong-secret-value-that-must-not-be-logged')

  const log = lines.join('')
  assert.ok(lines.length > 5, 'requests were logged')
  assert.match(log, /request refused/)
  for (const secret of secrets) {
    assert.ok(!log.includes(secret), `a secret value reached the logs: ${secret.slice(0, 6)}…`)
  }
  assert.doesNotMatch(log, /sig1=:/, 'no signature value')
  assert.doesNotMatch(log, /GNAP /, 'no Authorization header')
})
