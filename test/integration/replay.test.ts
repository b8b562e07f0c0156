import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertGnapError, countRows } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { postJson, signedRequest, type SignedRequestOptions } from '../helpers/signed-request.js'
import { postgresOnly } from '../helpers/requirements.js'
import { startPeerServer } from '../helpers/test-server.js'

/**
 * RFC 9421 §7.2.2: a signed request seen once is refused when it comes again while its
 * `created` is inside the window (SIGNATURE_MAX_AGE_SECONDS), on every listener process that
 * shares the database, and the refusal writes nothing. Grant requests are the exception: one
 * without a `nonce` is served again (SIGNATURE_REPLAY=standard), as the SDKs sign none.
 */

let world: ServerWithClient
before(async () => {
  world = await startServerWithClient()
})
after(() => world.close())

const now = () => Math.floor(Date.now() / 1000)
const grantBody = (n: number) => ({
  client: world.app.walletAddress,
  access_token: {
    access: [
      { type: 'quote', actions: ['create', 'read'], identifier: `${world.wallets.url}/r${n}` }
    ]
  }
})

function grantRequest(url: string, body: unknown, created: number, nonce?: string) {
  return signedRequest(url, { client: world.app, body, created, ...(nonce && { nonce }) })
}

async function issue(n: number) {
  const res = await grantRequest(world.server.grantUrl, grantBody(n), now())
  assert.equal(res.status, 200, res.text)
  return res.body as { access_token: { value: string; manage: string } }
}

const replayed = /already used/

async function introspect(value: string): Promise<{ active: boolean }> {
  const res = await postJson(`${world.server.introspectionUrl}/`, { access_token: value })
  assert.equal(res.status, 200, res.text)
  return res.body as { active: boolean }
}
const tokenOf = (res: { body: unknown }) =>
  (res.body as { access_token: { value: string } }).access_token.value

describe('replay', () => {
  test('the same signed grant request twice without a nonce: both are served, as two grants', async () => {
    const created = now() - 5
    const grants = await countRows(world.server, 'grants')
    const first = await grantRequest(world.server.grantUrl, grantBody(1), created)
    const again = await grantRequest(world.server.grantUrl, grantBody(1), created)
    assert.equal(first.status, 200, first.text)
    assert.equal(again.status, 200, again.text)
    assert.notEqual(tokenOf(first), tokenOf(again))
    assert.equal(await countRows(world.server, 'grants'), grants + 2)
  })

  test('a grant request signed with a nonce, sent twice: the second is 401 invalid_client and creates nothing', async () => {
    const created = now() - 5
    const first = await grantRequest(world.server.grantUrl, grantBody(1), created, 'n-1')
    assert.equal(first.status, 200, first.text)
    const grants = await countRows(world.server, 'grants')
    const tokens = await countRows(world.server, 'access_tokens')
    const again = await grantRequest(world.server.grantUrl, grantBody(1), created, 'n-1')
    assertGnapError(again, 401, 'invalid_client', replayed)
    assert.equal(await countRows(world.server, 'grants'), grants)
    assert.equal(await countRows(world.server, 'access_tokens'), tokens)
    // Another nonce is another signature, and another request.
    const other = await grantRequest(world.server.grantUrl, grantBody(1), created, 'n-2')
    assert.equal(other.status, 200, other.text)
  })

  test('the same request signed again (another created, so another signature) is a new request', async () => {
    const created = now() - 10
    assert.equal((await grantRequest(world.server.grantUrl, grantBody(2), created)).status, 200)
    const fresh = await grantRequest(world.server.grantUrl, grantBody(2), created + 1)
    assert.equal(fresh.status, 200, fresh.text)
  })

  test('a replayed rotation or revocation is refused as a replay, even with its token live, and changes nothing', async () => {
    // A rotation or revocation kills the token it presents, so its replay would be refused by
    // the token check alone. The test makes the token live again in the database: only the
    // replay guard then stands between the replay and a second rotation or revocation.
    const revive = (manage: string) =>
      world.server.services.db.query(
        'update access_tokens set revoked_at = null where management_id = $1',
        [new URL(manage).pathname.split('/').pop()]
      )
    const { access_token: token } = await issue(3)
    const created = now()
    const rotate: SignedRequestOptions = {
      client: world.app,
      method: 'POST',
      token: token.value,
      created
    }
    const rotated = await signedRequest(token.manage, rotate)
    assert.equal(rotated.status, 200, rotated.text)
    await revive(token.manage)
    const tokens = await countRows(world.server, 'access_tokens')
    assertGnapError(await signedRequest(token.manage, rotate), 401, 'invalid_client', replayed)
    assert.equal(await countRows(world.server, 'access_tokens'), tokens, 'no token issued')
    assert.equal((await introspect(token.value)).active, true, 'the presented token lives on')

    const next = (rotated.body as { access_token: { value: string; manage: string } }).access_token
    const revoke: SignedRequestOptions = {
      client: world.app,
      method: 'DELETE',
      token: next.value,
      created
    }
    assert.equal((await signedRequest(next.manage, revoke)).status, 204)
    await revive(next.manage)
    assertGnapError(await signedRequest(next.manage, revoke), 401, 'invalid_client', replayed)
    assert.equal((await introspect(next.value)).active, true, 'the replay revoked nothing')
  })

  test('a replayed poll is refused as a replay, while the grant is still pending', async () => {
    const pending = await signedRequest(world.server.grantUrl, {
      client: world.app,
      body: {
        client: world.app.walletAddress,
        access_token: {
          access: [
            {
              type: 'outgoing-payment',
              actions: ['create'],
              identifier: `${world.wallets.url}/alice`,
              limits: { debitAmount: { value: '1', assetCode: 'USD', assetScale: 2 } }
            }
          ]
        },
        interact: { start: ['redirect'] }
      }
    })
    assert.equal(pending.status, 200, pending.text)
    const cont = (pending.body as { continue: { uri: string; access_token: { value: string } } })
      .continue
    const poll: SignedRequestOptions = {
      client: world.app,
      token: cont.access_token.value,
      body: {},
      created: now()
    }
    assert.equal((await signedRequest(cont.uri, poll)).status, 200)
    assertGnapError(await signedRequest(cont.uri, poll), 401, 'invalid_client', replayed)
  })

  test('a refused signature is not recorded: the request signed correctly with that created then passes', async () => {
    const created = now() - 20
    const body = grantBody(4)
    const other = world.wallets.addKey('app')
    const wrongKey = await signedRequest(world.server.grantUrl, {
      client: world.app,
      key: other.privateKey,
      body,
      created,
      nonce: 'n-4'
    })
    assertGnapError(wrongKey, 401, 'invalid_client', 'invalid signature')
    const right = await grantRequest(world.server.grantUrl, body, created, 'n-4')
    assert.equal(right.status, 200, right.text)
  })

  test('outside the window a signature is refused as stale, replayed or not', async () => {
    const created = now() - 301
    for (let i = 0; i < 2; i++) {
      const res = await grantRequest(world.server.grantUrl, grantBody(5), created)
      assertGnapError(res, 401, 'invalid_client', /outside the accepted window/)
    }
  })
})

describe('replay records on PostgreSQL', () => {
  test(
    'every verified request that must not repeat leaves one record: grant and rotation write it in their own statement',
    { skip: postgresOnly('one process owns an embedded database: it keeps the records in memory') },
    async () => {
      const db = world.server.services.db
      const records = async () =>
        (await db.query<{ n: number }>('select count(*)::int as n from signature_replays')).rows[0]!
          .n
      const before = await records()
      const { access_token: token } = await issue(7)
      assert.equal(await records(), before, 'a grant request without a nonce')
      const withNonce = await grantRequest(world.server.grantUrl, grantBody(7), now(), 'n-7')
      assert.equal(withNonce.status, 200, withNonce.text)
      assert.equal(await records(), before + 1, 'a grant request with a nonce')
      const rotated = await signedRequest(token.manage, {
        client: world.app,
        method: 'POST',
        token: token.value
      })
      assert.equal(rotated.status, 200, rotated.text)
      assert.equal(await records(), before + 2, 'the rotation')
      const next = (rotated.body as { access_token: { value: string; manage: string } })
        .access_token
      const revoked = await signedRequest(next.manage, {
        client: world.app,
        method: 'DELETE',
        token: next.value
      })
      assert.equal(revoked.status, 204)
      assert.equal(await records(), before + 3, 'the revocation')
    }
  )
})

describe('replay across opas processes sharing one PostgreSQL database', () => {
  test(
    'a request answered by one server is refused by the other',
    { skip: postgresOnly('an embedded database belongs to one process') },
    async () => {
      // A second server on the same database, answering for the same public URL, as two
      // processes behind one load balancer do.
      const second = await startPeerServer(world.server, {
        AUTH_SERVER_URL: world.server.env.AUTH_SERVER_URL!
      })
      try {
        const created = now()
        const viaFirst = await grantRequest(world.server.grantUrl, grantBody(6), created, 'n-6')
        assert.equal(viaFirst.status, 200, viaFirst.text)
        const viaSecond = await signedRequest(world.server.grantUrl, {
          client: world.app,
          body: grantBody(6),
          created,
          nonce: 'n-6',
          sendTo: `${second.authUrl}${new URL(world.server.grantUrl).pathname}`
        })
        assertGnapError(viaSecond, 401, 'invalid_client', replayed)
      } finally {
        await second.close()
      }
    }
  )
})

describe('SIGNATURE_REPLAY=strict', () => {
  test('the identical grant request pair without a nonce: the second is 401 and creates nothing', async () => {
    const strict = await startServerWithClient({ SIGNATURE_REPLAY: 'strict' })
    try {
      const body = {
        client: strict.app.walletAddress,
        access_token: { access: [{ type: 'quote', actions: ['create'] }] }
      }
      const created = now()
      const request = () =>
        signedRequest(strict.server.grantUrl, { client: strict.app, body, created })
      assert.equal((await request()).status, 200)
      const grants = await countRows(strict.server, 'grants')
      assertGnapError(await request(), 401, 'invalid_client', replayed)
      assert.equal(await countRows(strict.server, 'grants'), grants)
    } finally {
      await strict.close()
    }
  })
})
