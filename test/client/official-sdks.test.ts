import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  FINISH_URI,
  createGrantFlows,
  pendingGrantOf,
  type GrantFlows
} from '../integration/support/grant-flows.js'
import { assertGnapError, countRows } from '../helpers/gnap-assertions.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import {
  officialSdks,
  sdkWireClient,
  sendWire,
  type GrantRequest,
  type SdkWireClient,
  type Tamper
} from '../helpers/sdk-wire/index.js'
import { untilNextSecond, type TestResponse } from '../helpers/signed-request.js'
import { outgoingPaymentAccess } from '../helpers/sdk-client.js'

/**
 * The Go, .NET, Rust and PHP SDKs, each as its own source signs and shapes its requests
 * (test/helpers/sdk-wire), through every flow of the auth server: grant, rotation, revocation,
 * an interactive grant continued with `interact_ref`, a poll and a cancel. Each refusal opas
 * makes holds in every SDK's syntax. The TypeScript SDK runs as the real package in
 * sdk-flows.test.ts.
 */

let world: ServerWithClient
before(async () => {
  world = await startServerWithClient()
})
after(() => world?.close())

interface GrantAnswer {
  access_token?: { value: string; manage: string }
  interact?: { redirect: string; finish: string }
  continue: { uri: string; access_token: { value: string } }
}

function answer(res: TestResponse, status = 200): GrantAnswer {
  assert.equal(res.status, status, res.text)
  return res.body as GrantAnswer
}

const incoming: GrantRequest = {
  access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] }
}

function interactive(account: string, finish: boolean): GrantRequest {
  return {
    access_token: { access: [outgoingPaymentAccess(account)] },
    interact: {
      start: ['redirect'],
      ...(finish && { finish: { method: 'redirect', uri: FINISH_URI, nonce: 'sdk-nonce' } })
    }
  }
}

for (const shape of officialSdks) {
  describe(`${shape.name} SDK`, () => {
    let sdk: SdkWireClient
    let flows: GrantFlows
    let account: string
    const active = async (token: string) => (await flows.introspect(token)).active

    before(() => {
      const client = world.wallets.addClient(`sdk-${shape.name}`, {
        authServer: world.server.grantUrl
      })
      account = `${world.wallets.url}/alice`
      sdk = sdkWireClient(shape, client)
      flows = createGrantFlows(world.server, client, account)
    })

    test('a grant, rotated, then revoked', async () => {
      const grant = answer(await sendWire(sdk.grant(world.server.grantUrl, incoming)))
      const token = grant.access_token!
      const info = await flows.introspect(token.value)
      assert.equal(info.active, true)

      const rotated = answer(await sendWire(sdk.rotate(token.manage, token.value)))
      const next = rotated.access_token!
      assert.notEqual(next.manage, token.manage)
      assert.equal(await active(token.value), false)
      assert.equal(await active(next.value), true)

      const revoked = await sendWire(sdk.revoke(next.manage, next.value))
      assert.equal(revoked.status, 204, revoked.text)
      assert.equal(await active(next.value), false)
    })

    test('an interactive grant, continued with its interact_ref', async () => {
      const pending = pendingGrantOf(
        await sendWire(sdk.grant(world.server.grantUrl, interactive(account, true)))
      )
      const { interactRef } = await flows.approve(pending)
      const continuation = sdk.continue(pending.continueUri, pending.continueToken, interactRef)
      const issued = answer(await sendWire(continuation))
      assert.equal(await active(issued.access_token!.value), true)
    })

    test('an interactive grant without finish, polled before and after the IdP accepts', async () => {
      const pending = answer(
        await sendWire(sdk.grant(world.server.grantUrl, interactive(account, false)))
      )
      const { uri, access_token: cont } = pending.continue
      const waiting = answer(await sendWire(sdk.continue(uri, cont.value)))
      assert.equal(waiting.access_token, undefined)
      const started = await flows.startInteraction(pending.interact!.redirect)
      assert.equal((await flows.idpChoose(started.id, started.nonce, 'accept')).status, 202)
      // The SDKs sign no nonce: a second poll within the same second would be the first one
      // again, refused as a replay (clients wait `continue.wait` seconds, 0 in these tests).
      await untilNextSecond()
      const issued = answer(await sendWire(sdk.continue(uri, cont.value)))
      assert.equal(await active(issued.access_token!.value), true)
    })

    test('a grant cancelled: 204, and its token is dead', async () => {
      const grant = answer(await sendWire(sdk.grant(world.server.grantUrl, incoming)))
      const { uri, access_token: cont } = grant.continue
      const cancelled = await sendWire(sdk.cancel(uri, cont.value))
      assert.equal(cancelled.status, 204, cancelled.text)
      assert.equal(await active(grant.access_token!.value), false)
    })

    test('eight identical grant requests at once: eight grants, each with a live token', async () => {
      const request = sdk.grant(world.server.grantUrl, incoming)
      const answers = await Promise.all(Array.from({ length: 8 }, () => sendWire(request)))
      const tokens = answers.map((res) => answer(res).access_token!.value)
      assert.equal(new Set(tokens).size, 8)
      for (const token of tokens) assert.equal(await active(token), true)
    })

    describe('refusals, in this SDK’s syntax, write nothing', () => {
      const otherKey = generateKeyPairSync('ed25519').privateKey
      const now = () => Math.floor(Date.now() / 1000)
      const refusals: { name: string; tamper: () => Tamper; description: string }[] = [
        {
          name: 'a body that does not match its digest',
          // Same length, still valid: only the digest can tell.
          tamper: () => ({ body: (body) => body.replace('"read"', '"list"') }),
          description: 'invalid signature headers: Content-Digest does not match the body'
        },
        {
          name: 'content-digest not covered',
          tamper: () => ({ omit: 'content-digest' }),
          description: 'invalid signature headers: a required component is not covered'
        },
        {
          name: 'a stale created',
          tamper: () => ({ created: now() - 301 }),
          description: 'invalid signature headers: signature created outside the accepted window'
        },
        {
          name: 'an alg other than ed25519',
          tamper: () => ({ alg: 'rsa-pss-sha512' }),
          description: 'invalid signature'
        },
        {
          name: 'a signature by another key',
          tamper: () => ({ key: otherKey }),
          description: 'invalid signature'
        }
      ]
      for (const refusal of refusals) {
        test(`grant: ${refusal.name}`, async () => {
          const grants = await countRows(world.server, 'grants')
          const res = await sendWire(sdk.grant(world.server.grantUrl, incoming, refusal.tamper()))
          assertGnapError(res, 401, 'invalid_client', refusal.description)
          assert.equal(await countRows(world.server, 'grants'), grants)
        })
      }

      test('rotation: authorization not covered, then no Authorization at all', async () => {
        const token = answer(
          await sendWire(sdk.grant(world.server.grantUrl, incoming))
        ).access_token!
        const uncovered = await sendWire(
          sdk.rotate(token.manage, token.value, { omit: 'authorization' })
        )
        assertGnapError(
          uncovered,
          401,
          'invalid_client',
          'invalid signature headers: a required component is not covered'
        )
        // As PHP's rotation snippet sends it.
        const missing = await sendWire(sdk.rotate(token.manage, undefined))
        assertGnapError(missing, 401, 'invalid_client', 'missing access token')
        assert.equal(await active(token.value), true)
      })

      test('a poll replayed byte for byte: the second is refused as a replay', async () => {
        const request = interactive(account, false)
        const pending = answer(await sendWire(sdk.grant(world.server.grantUrl, request)))
        const poll = sdk.continue(pending.continue.uri, pending.continue.access_token.value)
        answer(await sendWire(poll))
        assertGnapError(
          await sendWire(poll),
          401,
          'invalid_client',
          'invalid signature: this signature was already used'
        )
      })
    })
  })
}
