import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { postgresOnly } from '../helpers/requirements.js'
import { createTestDatabase, startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { createGrantFlows } from './support/grant-flows.js'

/**
 * Issue 28: a webhook not yet delivered when opas stops is delivered by the next start (it is
 * in the database, not in memory), with the same id; and with two opas processes on one
 * PostgreSQL, each event is sent once.
 */

const SECRET = 'webhook-secret-of-the-operator-long-enough'
const OPERATOR = '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'

let wallets: WalletAddressServer
let receiver: WebhookReceiver
before(async () => {
  wallets = await startWalletAddressServer()
  receiver = await startWebhookReceiver(SECRET)
})
after(async () => {
  await receiver?.close()
  await wallets?.close()
})

/** A database that outlives each server: a throwaway PostgreSQL one, or an embedded one on disk. */
async function lastingDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const database = await createTestDatabase()
  if (database) return { env: { AUTH_DATABASE_URL: database.url }, drop: database.drop }
  const dir = await mkdtemp(join(tmpdir(), 'opas-webhooks-'))
  return { env: { DATA_DIR: dir }, drop: () => rm(dir, { recursive: true, force: true }) }
}

const serverOn = (database: { env: Record<string, string> }, port?: string) =>
  startTestServer({
    ...database.env,
    OPERATOR_TENANT_ID: OPERATOR,
    ...(port ? { AUTH_SERVER_URL: `http://127.0.0.1:${port}`, AUTH_PORT: port } : {}),
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SIGNATURE_SECRET: SECRET,
    WEBHOOK_RETRY_DELAY_MS: '100'
  })

test('a webhook failing when opas stops is delivered after the restart, with its id', async () => {
  const database = await lastingDatabase()
  let server: TestServer | undefined
  try {
    receiver.answerWith(() => 503)
    server = await serverOn(database)
    const port = new URL(server.authUrl).port
    const client = wallets.addClient('restart-app', { authServer: server.grantUrl })
    const flows = createGrantFlows(server, client, `${wallets.url}/alice`)
    const { token } = await flows.requestNonInteractive()
    const grantId = (await flows.introspect(token.value)).grant!
    const ofGrant = () => receiver.received.filter((w) => w.data.grantId === grantId)
    await receiver.waitFor(() => ofGrant().length >= 1)
    await server.close()
    server = undefined
    const refusedIds = new Set(ofGrant().map((w) => w.id))

    receiver.answerWith(() => 200)
    // The same public URL: the client's grant lives on the same AS.
    server = await serverOn(database, port)
    await receiver.waitFor(() => ofGrant().some((w) => w.answered === 200))
    const delivered = ofGrant().filter((w) => w.answered === 200)
    assert.equal(delivered.length, 1)
    assert.ok(refusedIds.has(delivered[0]!.id), 'the id of the attempts before the restart')
    assert.ok(delivered[0]!.signatureValid)
  } finally {
    receiver.answerWith(() => 200)
    await server?.close()
    await database.drop()
  }
})

test(
  'two opas processes on one PostgreSQL send each event once',
  { skip: postgresOnly('an embedded database belongs to one process') },
  async () => {
    const database = await lastingDatabase()
    const servers: TestServer[] = []
    try {
      servers.push(await serverOn(database))
      servers.push(await serverOn(database))
      const grants: string[] = []
      for (let i = 0; i < 20; i++) {
        const server = servers[i % 2]!
        const client = wallets.addClient(`pair-app-${i}`, { authServer: server.grantUrl })
        const flows = createGrantFlows(server, client, `${wallets.url}/alice`)
        const { token } = await flows.requestNonInteractive()
        grants.push((await flows.introspect(token.value)).grant!)
        assert.equal((await flows.revoke(token)).status, 204)
      }
      const ofGrant = (grantId: string) =>
        receiver.received.filter((w) => w.data.grantId === grantId)
      await receiver.waitFor(() => grants.every((g) => ofGrant(g).length >= 2))
      // Both stopped (each waits for its pass in flight): nothing more can arrive.
      for (const server of servers.splice(0)) await server.close()
      for (const grantId of grants) {
        assert.deepEqual(
          ofGrant(grantId).map((w) => w.type),
          ['grant.issued', 'access_token.revoked']
        )
      }
    } finally {
      for (const server of servers) await server.close()
      await database.drop()
    }
  }
)
