import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { createGrantFlows, type GrantFlows } from './support/grant-flows.js'

/**
 * The webhook deliverer holds its reading transaction open while it sends what it read: on a
 * connection of its own, not one of the requests' pool. With DATABASE_POOL_SIZE=1 and a
 * receiver that does not answer (within a WEBHOOK_TIMEOUT_MS longer than the test), requests
 * are still served; were the deliverer on the requests' one connection, they would wait for it.
 */

let wallets: WalletAddressServer
let server: TestServer
let flows: GrantFlows
const held: ServerResponse[] = []
let heldOne: () => void
const firstHeld = new Promise<void>((resolve) => (heldOne = resolve))
const receiver = createServer((req, res) => {
  req.resume()
  held.push(res)
  heldOne()
})

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  wallets = await startWalletAddressServer()
  server = await startTestServer({
    WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    WEBHOOK_SIGNATURE_SECRET: 'webhook-secret-of-the-operator-long-enough',
    WEBHOOK_TIMEOUT_MS: '120000',
    DATABASE_POOL_SIZE: '1'
  })
  const client = wallets.addClient('pool-app', { authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  for (const res of held) res.writeHead(200).end()
  await server?.close()
  await wallets?.close()
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
})

test('a receiver that does not answer keeps no connection the requests need', async () => {
  await flows.requestNonInteractive()
  // The deliverer is sending: its transaction is open until the receiver answers.
  await firstHeld
  const { token } = await flows.requestNonInteractive()
  assert.equal((await flows.introspect(token.value)).active, true)
  const rotated = await flows.rotate(token)
  assert.equal(rotated.status, 200, rotated.text)
  // Served while the first webhook was still unanswered.
  assert.ok(held.length >= 1 && held.every((res) => !res.headersSent))
})
