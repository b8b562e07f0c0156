import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startServerWithClient } from '../helpers/server-with-client.js'
import { signedRequest } from '../helpers/signed-request.js'

/**
 * A graceful stop under load: requests in flight on keep-alive connections are answered, and
 * the server does not then wait for those clients to hang up (fetch keeps a connection for as
 * long as the server's Keep-Alive hint, 72 s, far beyond SHUTDOWN_TIMEOUT_MS).
 */
test('close() answers the requests in flight and ends without waiting for keep-alive clients', async () => {
  const { server, app, wallets } = await startServerWithClient()
  let n = 0
  let stopping = false
  const statuses: number[] = []
  const worker = async () => {
    while (!stopping) {
      const res = await signedRequest(server.grantUrl, {
        client: app,
        body: {
          client: app.walletAddress,
          access_token: {
            access: [{ type: 'quote', actions: ['create'], identifier: `${wallets.url}/s${++n}` }]
          }
        }
      }).catch(() => undefined)
      if (res) statuses.push(res.status)
    }
  }
  const workers = Promise.all([1, 2, 3, 4].map(worker))
  await new Promise((r) => setTimeout(r, 500))
  const started = performance.now()
  stopping = true
  await server.close()
  const took = performance.now() - started
  await workers
  await wallets.close()
  assert.ok(took < 3000, `close() took ${Math.round(took)} ms`)
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), JSON.stringify(statuses))
})
