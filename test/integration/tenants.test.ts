import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { computeInteractHash } from '../../src/interaction/finish-hash.js'
import { assertGnapError, countRows } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { signedRequest } from '../helpers/signed-request.js'
import { addTenant, deleteTenant } from '../helpers/tenants.js'
import type { TestServer } from '../helpers/test-server.js'
import {
  createGrantFlows,
  nonInteractiveGrantBody,
  type GrantFlows
} from './support/grant-flows.js'

/**
 * Tenants are isolated (Rafiki's multi-tenant auth service): a grant requested at
 * `/{tenant}` belongs to that tenant, its interaction is decided only by that tenant's IdP,
 * and a deleted tenant issues nothing and its tokens stop being active.
 */

let world: ServerWithClient
/** The operator tenant (A) and a second tenant (B), each with its own IdP and secret. */
let a: GrantFlows
let b: GrantFlows
let tenantB: TestServer
const B_CONSENT_URL = 'http://127.0.0.1:9/tenant-b/consent'

before(async () => {
  world = await startServerWithClient()
  tenantB = await addTenant(world.server, {
    consentUrl: B_CONSENT_URL,
    secret: 'tenant-b-idp-secret-long-enough'
  })
  const account = `${world.wallets.url}/alice`
  a = createGrantFlows(world.server, world.app, account)
  b = createGrantFlows(tenantB, world.app, account)
})
after(() => world.close())

async function grantRow(grantId: string) {
  const { rows } = await world.server.services.db.query<{ tenantId: string; state: string }>(
    'select tenant_id as "tenantId", state from grants where id = $1',
    [grantId]
  )
  return rows[0]
}

describe('tenant isolation', () => {
  test("a grant requested at B's endpoint is B's: B's IdP asks, the finish hash names B's endpoint", async () => {
    const pending = await b.requestInteractive({ clientNonce: 'nonce-b' })
    const started = await b.startInteraction(pending.redirect)
    assert.equal(`${started.location.origin}${started.location.pathname}`, B_CONSENT_URL)
    const grantId = await b.grantIdOf(started)
    assert.deepEqual(await grantRow(grantId), { tenantId: tenantB.tenantId, state: 'PENDING' })

    assert.equal((await b.idpChoose(started.id, started.nonce, 'accept')).status, 202)
    const finished = await b.finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(finished.status, 302, finished.text)
    const back = new URL(finished.headers.get('location')!).searchParams
    const hashFor = (grantUri: string) =>
      computeInteractHash({
        clientNonce: 'nonce-b',
        interactNonce: pending.finish,
        interactRef: back.get('interact_ref')!,
        grantUri
      })
    assert.equal(back.get('hash'), hashFor(tenantB.grantUrl))
    assert.notEqual(back.get('hash'), hashFor(world.server.grantUrl))

    const continued = await b.continueGrant(pending, { interact_ref: back.get('interact_ref') })
    assert.equal(continued.status, 200, continued.text)
    const token = (continued.body as { access_token: { value: string } }).access_token.value
    assert.equal((await b.introspect(token)).active, true)
  })

  test("A's IdP secret neither reads nor decides B's interaction, nor B's A's", async () => {
    const inB = await b.startInteraction((await b.requestInteractive()).redirect)
    const inA = await a.startInteraction((await a.requestInteractive()).redirect)

    assertGnapError(await a.idpDetails(inB.id, inB.nonce), 401, 'invalid_request')
    for (const choice of ['accept', 'reject'] as const) {
      assertGnapError(await a.idpChoose(inB.id, inB.nonce, choice), 401, 'invalid_interaction')
    }
    assertGnapError(await b.idpDetails(inA.id, inA.nonce), 401, 'invalid_request')
    assertGnapError(await b.idpChoose(inA.id, inA.nonce, 'accept'), 401, 'invalid_interaction')

    // Nothing was decided: each tenant's own IdP still finds its interaction pending.
    const grantB = await b.grantIdOf(inB)
    const grantA = await a.grantIdOf(inA)
    assert.equal((await grantRow(grantB))?.state, 'PENDING')
    assert.equal((await grantRow(grantA))?.state, 'PENDING')
    assert.equal((await b.idpChoose(inB.id, inB.nonce, 'accept')).status, 202)
    assert.equal((await grantRow(grantB))?.state, 'APPROVED')
    assert.equal((await grantRow(grantA))?.state, 'PENDING')
  })

  test("a grant request names its tenant: an issued grant is B's and not A's, and an unknown tenant is 404", async () => {
    const { token } = await b.requestNonInteractive()
    const { grant } = await b.introspect(token.value)
    assert.equal((await grantRow(grant!))?.tenantId, tenantB.tenantId)
    const unknown = `${world.server.services.config.authServerUrl}/${randomUUID()}`
    const grants = await countRows(world.server, 'grants')
    const res = await signedRequest(unknown, {
      client: world.app,
      body: nonInteractiveGrantBody(world.app)
    })
    assertGnapError(res, 404, 'invalid_request', 'unknown tenant')
    assert.equal(await countRows(world.server, 'grants'), grants)
  })

  test('a deleted tenant gets no new grant and its tokens introspect inactive; other tenants go on', async () => {
    const doomed = await addTenant(world.server, {
      consentUrl: 'http://127.0.0.1:9/doomed/consent',
      secret: 'doomed-idp-secret-long-enough'
    })
    const c = createGrantFlows(doomed, world.app, `${world.wallets.url}/alice`)
    const { token } = await c.requestNonInteractive()
    const { token: tokenA } = await a.requestNonInteractive()
    const { token: tokenB } = await b.requestNonInteractive()
    assert.equal((await c.introspect(token.value)).active, true)

    await deleteTenant(world.server, doomed.tenantId)

    const grants = await countRows(world.server, 'grants')
    const refused = await signedRequest(doomed.grantUrl, {
      client: world.app,
      body: nonInteractiveGrantBody(world.app)
    })
    assertGnapError(refused, 404, 'invalid_request', 'unknown tenant')
    assert.equal(await countRows(world.server, 'grants'), grants)
    assert.deepEqual(await c.introspect(token.value), { active: false })

    assert.equal((await a.introspect(tokenA.value)).active, true)
    assert.equal((await b.introspect(tokenB.value)).active, true)
    const { token: later } = await b.requestNonInteractive()
    assert.equal((await b.introspect(later.value)).active, true)
  })
})
