import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { signedRequest } from '../helpers/signed-request.js'
import { startTestServer } from '../helpers/test-server.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'
import { nonInteractiveGrantBody } from '../integration/support/grant-flows.js'

/**
 * A graceful stop: every request opas is serving when closing starts is answered in full, and
 * the server does not then wait for idle keep-alive clients to hang up (fetch keeps a
 * connection for as long as the server's Keep-Alive hint, 72 s, far beyond
 * SHUTDOWN_TIMEOUT_MS). The requests are held inside opas, waiting for their client's keys
 * from a wallet-address server that answers only when the test lets it, so exactly how many
 * are in flight when closing starts is known.
 */
test('close() answers each request in flight with 200 and ends without waiting for keep-alive clients', async () => {
  const IN_FLIGHT = 4
  let holding = false
  let held = 0
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const wallets = await startWalletAddressServer({
    beforeAnswer: async (path) => {
      if (!holding || !path.endsWith('/jwks.json')) return
      held++
      await gate
    }
  })
  const server = await startTestServer()
  try {
    // Idle keep-alive connections to the server, left open by earlier answered requests.
    const warm = wallets.addClient('warm', { authServer: server.grantUrl })
    for (let i = 0; i < 3; i++) {
      const res = await signedRequest(server.grantUrl, {
        client: warm,
        body: nonInteractiveGrantBody(warm)
      })
      assert.equal(res.status, 200, res.text)
    }

    // Clients whose keys opas has not fetched yet: each request waits in opas for its keys.
    const clients = Array.from({ length: IN_FLIGHT }, (_, i) =>
      wallets.addClient(`c${i}`, { authServer: server.grantUrl })
    )
    holding = true
    const inFlight = clients.map((client) =>
      signedRequest(server.grantUrl, { client, body: nonInteractiveGrantBody(client) })
    )
    while (held < IN_FLIGHT) await sleep(10)

    const started = performance.now()
    const closing = server.close()
    // Closing has begun (new connections are refused) while every request is still held.
    await sleep(100)
    release()
    const answers = await Promise.all(inFlight)
    await closing
    const took = performance.now() - started

    assert.deepEqual(
      answers.map((res) => res.status),
      clients.map(() => 200),
      answers.map((res) => res.text).join('\n')
    )
    for (const res of answers) {
      assert.ok((res.body as { access_token?: { value?: string } }).access_token?.value)
    }
    assert.ok(took < 5000, `close() took ${Math.round(took)} ms`)
    await assert.rejects(fetch(`${server.authUrl}/healthz`), 'the server no longer listens')
  } finally {
    release()
    await server.close().catch(() => {})
    await wallets.close()
  }
})
