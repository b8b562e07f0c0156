import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { AuditEvent } from '../../src/audit/events.js'
import { signedRequest } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import {
  issuedGrantOf,
  nonInteractiveGrantBody,
  createGrantFlows,
  type GrantFlows,
  type IssuedToken
} from './support/grant-flows.js'

/**
 * A grant's life in the audit trail (issue 27), as the client drives it: issued at once when no
 * interaction is needed, else requested, approved, finished, continued and issued; its token
 * rotated and revoked. Each event is written by the statement or transaction of its change,
 * with the client (or the account holder's browser) as its actor and the request's id and
 * address; what changes nothing (a poll still pending, a replay, a lost race, a second revoke)
 * writes nothing.
 */

let wallets: WalletAddressServer
let server: TestServer
let client: TestClient
let flows: GrantFlows
before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer()
  client = wallets.addClient('trail-app', { authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  await server.close()
  await wallets.close()
})

const trail = (grantId: string): Promise<AuditEvent[]> => server.services.events.ofGrant(grantId)
const kinds = (events: AuditEvent[]) => events.map((e) => [e.type, e.actorKind, e.actor])

const grantIdOfToken = async (token: IssuedToken): Promise<string> => {
  const { grant } = await flows.introspect(token.value)
  assert.ok(grant, 'the token is active')
  return grant
}

test('a grant issued at once: one event, grant.issued, by the client, with what it asked', async () => {
  const { token } = await flows.requestNonInteractive()
  const events = await trail(await grantIdOfToken(token))
  // One change, one event: the grant was issued by the request that asked for it.
  assert.deepEqual(kinds(events), [['grant.issued', 'client', client.walletAddress]])
  const [event] = events
  assert.equal(event!.client, client.walletAddress)
  assert.equal(event!.tenantId, server.tenantId)
  assert.ok(event!.requestId, 'the request id')
  assert.match(event!.remoteAddress ?? '', /127\.0\.0\.1/)
  assert.deepEqual(event!.details.access, [
    { type: 'incoming-payment', actions: ['create', 'read'] }
  ])
})

test('rotation and revocation: one event each; a dead token rotated or revoked writes none', async () => {
  const { token } = await flows.requestNonInteractive()
  const grantId = await grantIdOfToken(token)
  const rotated = await flows.rotate(token)
  assert.equal(rotated.status, 200, rotated.text)
  const next = (rotated.body as { access_token: IssuedToken }).access_token
  // The rotated-away token is dead: rotating or revoking it again changes nothing.
  assert.notEqual((await flows.rotate(token)).status, 200)
  assert.notEqual((await flows.revoke(token)).status, 204)
  assert.equal((await flows.revoke(next)).status, 204)
  assert.notEqual((await flows.revoke(next)).status, 204)
  assert.deepEqual(kinds(await trail(grantId)), [
    ['grant.issued', 'client', client.walletAddress],
    ['token.rotated', 'client', client.walletAddress],
    ['token.revoked', 'client', client.walletAddress]
  ])
})

test('an interactive grant: requested, approved, finished, continued and issued, in that order', async () => {
  const pending = await flows.requestInteractive()
  const approved = await flows.approve(pending)
  const continued = await flows.continueGrant(pending, { interact_ref: approved.interactRef })
  assert.equal(continued.status, 200, continued.text)
  // The grant is issued: continuing again is refused and writes nothing.
  const again = await flows.continueGrant(pending, { interact_ref: approved.interactRef })
  assert.notEqual(again.status, 200)

  const events = await trail(approved.grantId)
  assert.deepEqual(kinds(events), [
    ['grant.requested', 'client', client.walletAddress],
    ['grant.approved', 'idp', server.tenantId],
    ['grant.finished', 'account-holder', null],
    ['grant.continued', 'client', client.walletAddress],
    ['grant.issued', 'client', client.walletAddress]
  ])
  const finished = events[2]!
  assert.deepEqual(finished.details, { decision: 'approved', returnedBy: 'redirect' })
  assert.equal(finished.client, client.walletAddress)
  assert.deepEqual(events[4]!.details, { continuation: 'interact_ref', token: true })
})

test('a poll while the account holder has not answered changes nothing, and writes nothing', async () => {
  const pending = await flows.requestInteractive({ finish: false })
  const polled = await flows.continueGrant(pending)
  assert.equal(polled.status, 200, polled.text)
  assert.equal((polled.body as { access_token?: unknown }).access_token, undefined)
  const started = await flows.startInteraction(pending.redirect)
  assert.deepEqual(kinds(await trail(await flows.grantIdOf(started))), [
    ['grant.requested', 'client', client.walletAddress]
  ])
})

test('racing continuations of one approved grant: one token, one issued event', async () => {
  const pending = await flows.requestInteractive()
  const approved = await flows.approve(pending)
  const answers = await Promise.all(
    Array.from({ length: 6 }, () =>
      flows.continueGrant(pending, { interact_ref: approved.interactRef })
    )
  )
  assert.equal(answers.filter((res) => res.status === 200).length, 1)
  const issued = (await trail(approved.grantId)).filter((e) => e.type === 'grant.issued')
  assert.equal(issued.length, 1)
  assert.equal(await flows.allTokens(approved.grantId), 1)
})

const countEvents = async (where = 'true', params: unknown[] = []): Promise<number> =>
  (
    await server.services.db.query<{ n: number }>(
      `select count(*)::int as n from events where ${where}`,
      params
    )
  ).rows[0]!.n

test('a replayed grant request (same signature, with a nonce) writes no second event', async () => {
  const created = Math.floor(Date.now() / 1000) - 2
  const body = nonInteractiveGrantBody(client)
  // Issued at once: its one event is grant.issued.
  const grantEvents = () =>
    countEvents(`type like 'grant.%' and client = $1`, [client.walletAddress])
  const before = await grantEvents()
  const first = await signedRequest(server.grantUrl, { client, body, created, nonce: 'n-1' })
  const again = await signedRequest(server.grantUrl, { client, body, created, nonce: 'n-1' })
  assert.ok(issuedGrantOf(first).token.value)
  assert.notEqual(again.status, 200, 'the replay is refused')
  assert.equal(await grantEvents(), before + 1)
})

test('a refused grant request writes nothing', async () => {
  const before = await countEvents()
  const bad = await signedRequest(server.grantUrl, {
    client,
    body: { client: client.walletAddress, access_token: { access: [{ type: 'no-such-type' }] } }
  })
  assert.equal(bad.status, 400, bad.text)
  assert.equal(await countEvents(), before)
})
