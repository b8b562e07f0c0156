import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { AuditEvent } from '../../src/audit/events.js'
import { driveConsentScreen } from '../helpers/interaction-driver.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { createGrantFlows } from './support/grant-flows.js'

/**
 * The account holder's answer in the audit trail (issue 27): through the tenant's identity
 * provider (the IdP its actor) or on opas's own consent screen (the account holder), written
 * with the answer; an answer refused writes nothing.
 */

let wallets: WalletAddressServer
let withIdp: TestServer
let builtin: TestServer
before(async () => {
  wallets = await startWalletAddressServer()
  withIdp = await startTestServer()
  builtin = await startTestServer({ IDENTITY_SERVER_URL: '' })
})
after(async () => {
  await withIdp.close()
  await builtin.close()
  await wallets.close()
})

const decisions = (server: TestServer, grantId: string): Promise<AuditEvent[]> =>
  server.services.events.list(
    { grantId, typeIn: ['grant.approved', 'grant.rejected'] },
    { limit: 10 }
  )

const grantOfInteraction = async (server: TestServer, id: string) =>
  (
    await server.services.db.query<{ grantId: string }>(
      'select grant_id as "grantId" from interactions where id = $1',
      [id]
    )
  ).rows[0]!.grantId

test("the IdP's accept and reject: the IdP is the actor; a second answer writes nothing", async () => {
  const client = wallets.addClient('idp-app', { authServer: withIdp.grantUrl })
  const flows = createGrantFlows(withIdp, client, `${wallets.url}/alice`)
  for (const choice of ['accept', 'reject'] as const) {
    const pending = await flows.requestInteractive()
    const started = await flows.startInteraction(pending.redirect)
    assert.equal((await flows.idpChoose(started.id, started.nonce, choice)).status, 202)
    assert.notEqual((await flows.idpChoose(started.id, started.nonce, choice)).status, 202)
    const grantId = await grantOfInteraction(withIdp, started.id)
    const events = await decisions(withIdp, grantId)
    assert.deepEqual(
      events.map((e) => [e.type, e.actorKind, e.actor, e.client]),
      [
        [
          choice === 'accept' ? 'grant.approved' : 'grant.rejected',
          'idp',
          withIdp.tenantId,
          client.walletAddress
        ]
      ]
    )
    assert.ok(events[0]!.requestId && events[0]!.remoteAddress)
  }
})

test('on the built-in consent screen: the account holder is the actor', async () => {
  const client = wallets.addClient('screen-app', {
    authServer: builtin.grantUrl,
    publicName: 'Screen App'
  })
  const flows = createGrantFlows(builtin, client, `${wallets.url}/alice`)
  for (const choice of ['accept', 'decline'] as const) {
    const pending = await flows.requestInteractive()
    await driveConsentScreen(pending.redirect, choice)
    const [event] = await builtin.services.events.list(
      {
        walletAddress: client.walletAddress,
        typeIn: [choice === 'accept' ? 'grant.approved' : 'grant.rejected']
      },
      { limit: 1 }
    )
    assert.ok(event, `${choice}: an event`)
    assert.equal(event.actorKind, 'account-holder')
    assert.equal(event.actor, null)
    assert.equal(event.tenantId, builtin.tenantId)
  }
})
