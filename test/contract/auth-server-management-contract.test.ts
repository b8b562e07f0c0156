import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { driveInteraction } from '../helpers/interaction-driver.js'
import type { OpenApiContract } from '../helpers/openapi-contract.js'
import { send, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { assertTokenIssued } from '../helpers/gnap-assertions.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import {
  assertContract,
  assertDeviation,
  assertGnapError,
  authServerContract,
  incoming,
  interactWith,
  outgoingWithLimits,
  pendingGrant,
  requestGrant,
  type PendingGrant
} from './contract-fixtures.js'

/** Continuation, cancel, rotation and revocation answers against the auth-server spec. */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient
let contract: OpenApiContract
let world: ServerWithClient | undefined

before(async () => {
  contract = authServerContract()
  world = await startServerWithClient()
  ;({ server, wallets, app } = world)
})
after(() => world?.close())

const CONTINUE = '/continue/{id}'
const TOKEN = '/token/{id}'

interface Issued {
  access_token: { value: string; manage: string }
  continue: { uri: string; access_token: { value: string } }
}

const continueRequest = (grant: PendingGrant, body?: unknown, extra: object = {}) =>
  signedRequest(grant.continueUri, {
    client: app,
    token: grant.continueToken,
    ...(body !== undefined ? { body } : { method: 'POST' }),
    ...extra
  })
const manage = (url: string, token: string, method: 'POST' | 'DELETE', extra: object = {}) =>
  signedRequest(url, { client: app, method, token, ...extra })

const outgoingGrant = (finish: boolean) =>
  pendingGrant(server, app, {
    access_token: { access: [outgoingWithLimits(`${wallets.url}/alice`, wallets.url)] },
    interact: interactWith(finish)
  })

async function issuedGrant(): Promise<Issued> {
  const res = await requestGrant(server, app, { access_token: { access: [incoming()] } })
  assert.equal(res.status, 200, res.text)
  return res.body as Issued
}

async function approvedRef(grant: PendingGrant): Promise<string> {
  const { finish } = await driveInteraction(server, grant.redirect, 'accept')
  return new URL(finish.headers.get('location')!).searchParams.get('interact_ref')!
}

describe('POST /continue/{id}', () => {
  const check = (res: TestResponse) => assertContract(contract, 'post', CONTINUE, res)

  test('200: polling a pending grant (continue + wait), then the token once approved', async () => {
    const grant = await outgoingGrant(false)
    const pending = await continueRequest(grant)
    check(pending)
    assert.deepEqual(Object.keys(pending.body as object), ['continue'])
    assert.equal((pending.body as { continue: { wait: number } }).continue.wait, 0)
    const polledWithEmptyObject = await continueRequest(grant, {})
    check(polledWithEmptyObject)
    await driveInteraction(server, grant.redirect, 'accept')
    const done = await continueRequest(grant, {})
    check(done)
    await assertTokenIssued(server, done)
  })

  test('200: continuing with interact_ref issues the token; a subject grant gets sub_ids', async () => {
    const grant = await outgoingGrant(true)
    const res = await continueRequest(grant, { interact_ref: await approvedRef(grant) })
    check(res)
    await assertTokenIssued(server, res)

    const subject = { sub_ids: [{ id: `${wallets.url}/alice`, format: 'uri' }] }
    const owner = await pendingGrant(server, app, { subject, interact: interactWith(true) })
    const answered = await continueRequest(owner, { interact_ref: await approvedRef(owner) })
    check(answered)
    assert.deepEqual((answered.body as { subject: unknown }).subject, subject)
  })

  test('400 too_fast: polling within `wait` seconds', async () => {
    const slow = await startTestServer({ WAIT_SECONDS: '30' })
    try {
      const client = wallets.addClient('slow', { authServer: slow.grantUrl })
      const grant = await pendingGrant(slow, client, {
        access_token: { access: [outgoingWithLimits(`${wallets.url}/alice`, wallets.url)] },
        interact: interactWith(false)
      })
      const res = await signedRequest(grant.continueUri, {
        client,
        token: grant.continueToken,
        method: 'POST'
      })
      check(res)
      assertGnapError(res, 400, 'too_fast')
    } finally {
      await slow.close()
    }
  })

  test('400 invalid_client: signed with a key id the client does not publish', async () => {
    const res = await continueRequest(await outgoingGrant(false), {}, { keyid: 'no-such-key' })
    check(res)
    assertGnapError(res, 400, 'invalid_client')
  })

  test('401 invalid_continuation: wrong token, unknown or non-UUID id, no Authorization', async () => {
    const grant = await outgoingGrant(false)
    const unknown = grant.continueUri.replace(/[^/]+$/, randomUUID())
    for (const res of [
      await continueRequest({ ...grant, continueToken: 'not-the-token' }, {}),
      await continueRequest({ ...grant, continueUri: unknown }, {}),
      await continueRequest({ ...grant, continueUri: `${server.authUrl}/continue/x` }, {}),
      await signedRequest(grant.continueUri, { client: app, body: {} })
    ]) {
      check(res)
      assertGnapError(res, 401, 'invalid_continuation')
    }
  })

  test('401 request_denied: polling a finishable grant, continuing twice, polling an issued grant', async () => {
    const finishable = await outgoingGrant(true)
    const polled = await continueRequest(finishable, {})
    check(polled)
    assertGnapError(polled, 401, 'request_denied')
    const ref = await approvedRef(finishable)
    assert.equal((await continueRequest(finishable, { interact_ref: ref })).status, 200)
    const twice = await continueRequest(finishable, { interact_ref: ref })
    check(twice)
    assertGnapError(twice, 401, 'request_denied')
    const issued = await issuedGrant()
    const again = await signedRequest(issued.continue.uri, {
      client: app,
      token: issued.continue.access_token.value,
      body: {}
    })
    check(again)
    assertGnapError(again, 401, 'request_denied')
  })

  test('401 invalid_client: a tampered signed body', async () => {
    const res = await continueRequest(
      await outgoingGrant(false),
      {},
      {
        tamperBody: () => '{ }'
      }
    )
    check(res)
    assertGnapError(res, 401, 'invalid_client')
  })

  test('404 invalid_continuation: an interact_ref of no interaction of this grant', async () => {
    const grant = await outgoingGrant(true)
    const other = await outgoingGrant(true)
    const foreignRef = await approvedRef(other)
    for (const ref of [randomUUID(), 'not-a-uuid', foreignRef]) {
      const res = await continueRequest(grant, { interact_ref: ref })
      check(res)
      assertGnapError(res, 404, 'invalid_continuation')
    }
  })

  test('deviation: 401 invalid_request "missing interaction reference" (code not in the 401 list)', async () => {
    const res = await continueRequest(await outgoingGrant(true), { something: 'else' })
    assertDeviation(contract, 'post', CONTINUE, res, {
      status: 401,
      code: 'invalid_request',
      contractError: /must be equal to one of the allowed values/
    })
  })
})

describe('DELETE /continue/{id}', () => {
  test('204 with no body; then 401 invalid_continuation; unsigned 401 invalid_client', async () => {
    const grant = await issuedGrant()
    const cancel = (extra: object = {}) =>
      signedRequest(grant.continue.uri, {
        client: app,
        method: 'DELETE',
        token: grant.continue.access_token.value,
        ...extra
      })
    const unsigned = await send(grant.continue.uri, {
      method: 'DELETE',
      headers: { authorization: `GNAP ${grant.continue.access_token.value}` }
    })
    assertContract(contract, 'delete', CONTINUE, unsigned)
    assertGnapError(unsigned, 401, 'invalid_client')
    const first = await cancel()
    assertContract(contract, 'delete', CONTINUE, first)
    assert.equal(first.status, 204)
    const second = await cancel()
    assertContract(contract, 'delete', CONTINUE, second)
    assertGnapError(second, 401, 'invalid_continuation')
  })
})

describe('POST and DELETE /token/{id}', () => {
  test('rotate 200 (new value and manage URL); the old token then 401 invalid_client', async () => {
    const { access_token: token } = await issuedGrant()
    const rotated = await manage(token.manage, token.value, 'POST')
    assertContract(contract, 'post', TOKEN, rotated)
    assert.equal(rotated.status, 200)
    const next = (rotated.body as { access_token: { value: string; manage: string } }).access_token
    assert.notEqual(next.manage, token.manage)
    for (const method of ['POST', 'DELETE'] as const) {
      const stale = await manage(token.manage, token.value, method)
      assertContract(contract, method.toLowerCase(), TOKEN, stale)
      assertGnapError(stale, 401, 'invalid_client')
    }
    const revoked = await manage(next.manage, next.value, 'DELETE')
    assertContract(contract, 'delete', TOKEN, revoked)
    assert.equal(revoked.status, 204)
    assert.equal(revoked.text, '')
  })

  test('401 invalid_client: wrong token, unknown or non-UUID id, bad signature, revoked', async () => {
    const { access_token: token } = await issuedGrant()
    const base = token.manage.replace(/[^/]+$/, '')
    const stranger = wallets.addClient('stranger').privateKey
    for (const method of ['POST', 'DELETE'] as const) {
      for (const res of [
        await manage(token.manage, 'not-the-token', method),
        await manage(`${base}${randomUUID()}`, token.value, method),
        await manage(`${base}not-a-uuid`, token.value, method),
        await manage(token.manage, token.value, method, { key: stranger })
      ]) {
        assertContract(contract, method.toLowerCase(), TOKEN, res)
        assertGnapError(res, 401, 'invalid_client')
      }
    }
    assert.equal((await manage(token.manage, token.value, 'DELETE')).status, 204)
    for (const method of ['POST', 'DELETE'] as const) {
      const res = await manage(token.manage, token.value, method)
      assertContract(contract, method.toLowerCase(), TOKEN, res)
      assertGnapError(res, 401, 'invalid_client')
    }
  })

  test('concurrent rotations of one token: one 200, the others 401 or 404 invalid_rotation', async () => {
    const { access_token: token } = await issuedGrant()
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => manage(token.manage, token.value, 'POST'))
    )
    for (const res of answers) {
      assertContract(contract, 'post', TOKEN, res)
      if (res.status === 404) assertGnapError(res, 404, 'invalid_rotation')
      else if (res.status === 401) assertGnapError(res, 401, 'invalid_client')
    }
    assert.equal(answers.filter((r) => r.status === 200).length, 1)
  })
})
