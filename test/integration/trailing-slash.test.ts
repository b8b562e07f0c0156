import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { postJson, send, signedRequest } from '../helpers/signed-request.js'

/**
 * Every route answers with a trailing slash as without (Rafiki's router is not strict; the .NET
 * and PHP SDKs add the slash), and the signature is checked against the URL the client used.
 */

let world: ServerWithClient
before(async () => {
  world = await startServerWithClient()
})
after(() => world.close())

interface Issued {
  access_token: { value: string; manage: string }
  continue: { uri: string; access_token: { value: string } }
}

const grantBody = () => ({
  client: world.app.walletAddress,
  access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] }
})

async function grantAt(url: string): Promise<Issued> {
  const res = await signedRequest(url, { client: world.app, body: grantBody() })
  assert.equal(res.status, 200, res.text)
  return res.body as Issued
}

const active = async (token: string) =>
  (
    (await postJson(`${world.server.introspectionUrl}/`, { access_token: token })).body as {
      active: boolean
    }
  ).active

describe('trailing slashes', () => {
  test('grant at /{tenant}/, rotation and revocation at /token/{id}/', async () => {
    const grant = await grantAt(`${world.server.grantUrl}/`)
    const { value, manage } = grant.access_token
    const rotated = await signedRequest(`${manage}/`, {
      method: 'POST',
      client: world.app,
      token: value
    })
    assert.equal(rotated.status, 200, rotated.text)
    const next = (rotated.body as Issued).access_token
    assert.equal(await active(value), false)
    const revoked = await signedRequest(`${next.manage}/`, {
      method: 'DELETE',
      client: world.app,
      token: next.value
    })
    assert.equal(revoked.status, 204, revoked.text)
    assert.equal(await active(next.value), false)
  })

  test('continuation and cancel at /continue/{id}/', async () => {
    const grant = await grantAt(world.server.grantUrl)
    const { uri, access_token: cont } = grant.continue
    // A finalised grant cannot be continued: the refusal comes from the route, not a 404.
    const polled = await signedRequest(`${uri}/`, {
      client: world.app,
      token: cont.value,
      body: {}
    })
    assertGnapError(polled, 401, 'request_denied')
    const cancelled = await signedRequest(`${uri}/`, {
      method: 'DELETE',
      client: world.app,
      token: cont.value
    })
    assert.equal(cancelled.status, 204, cancelled.text)
    assert.equal(await active(grant.access_token.value), false)
  })

  test('a signature for the URL without the slash does not verify on the URL with it', async () => {
    const res = await signedRequest(world.server.grantUrl, {
      client: world.app,
      body: grantBody(),
      sendTo: `${world.server.grantUrl}/`
    })
    assertGnapError(res, 401, 'invalid_client', 'invalid signature')
  })

  test('discovery, health and introspection answer with the slash too', async () => {
    assert.equal((await send(`${world.server.authUrl}/discovery/`, {})).status, 200)
    assert.equal((await send(`${world.server.authUrl}/healthz/`, {})).status, 200)
    const res = await postJson(`${world.server.introspectionUrl}/`, { access_token: 'x' })
    assert.deepEqual(res.body, { active: false })
  })
})
