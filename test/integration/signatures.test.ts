import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  postJson,
  signedRequest,
  type SignedRequestOptions,
  type TestResponse
} from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import {
  coveredWithout,
  crafted,
  nowSeconds,
  type CraftOptions,
  type Target
} from './crafted-request.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'

/**
 * RFC 9421 / RFC 9635 §7.3.1 signature verification on every GNAP client endpoint: each refusal
 * is tried against a live grant or token, and the same target then still accepts a request
 * signed as the SDK signs (so the refusals were about the signature, and changed nothing).
 */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient

before(async () => {
  wallets = await startWalletAddressServer()
  // Proxy headers trusted: they still must not change the target URI that is verified.
  server = await startTestServer({ TRUST_PROXY: 'true' })
  app = wallets.addClient('app', { authServer: server.grantUrl })
})
after(async () => {
  await server.close()
  await wallets.close()
})

interface GrantWire {
  access_token?: { value: string; manage: string }
  continue: { uri: string; access_token: { value: string } }
}

const grantBody = () => ({
  client: app.walletAddress,
  access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] }
})

async function requestGrant(body: Record<string, unknown>): Promise<GrantWire> {
  const res = await signedRequest(server.grantUrl, { client: app, body })
  assert.equal(res.status, 200, res.text)
  return res.body as GrantWire
}

const issuedGrant = () => requestGrant(grantBody())

// An outgoing payment needs consent; without a finish URI the client polls.
const pendingGrant = () =>
  requestGrant({
    client: app.walletAddress,
    access_token: {
      access: [
        { type: 'outgoing-payment', actions: ['create'], identifier: `${wallets.url}/alice` }
      ]
    },
    interact: { start: ['redirect'] }
  })

const introspect = async (token: string) =>
  (await postJson(`${server.introspectionUrl}/`, { access_token: token })).body as {
    active: boolean
  }

/** Signed by `app` with the SDK's choices, except for the given overrides. */
const signed = (t: Target, o: Partial<SignedRequestOptions> = {}) =>
  signedRequest(t.url, { method: t.method, body: t.body, token: t.token, client: app, ...o })

const craft = (t: Target, o: CraftOptions) => crafted(app, t, o)

const strangerKey = generateKeyPairSync('ed25519').privateKey

interface Refusal {
  name: string
  /** Only for targets with a body / with an Authorization token. */
  only?: 'body' | 'token'
  status: number
  description: RegExp
  run(t: Target): Promise<TestResponse>
}

const BAD_SIGNATURE = /^invalid signature$/
const UNCOVERED = /^invalid signature headers: a required component is not covered$/
const STALE = /^invalid signature headers: signature created outside the accepted window$/

const refusals: Refusal[] = [
  {
    name: 'the body is changed after signing',
    only: 'body',
    status: 401,
    description: /^invalid signature headers: Content-Digest does not match the body$/,
    run: (t) => signed(t, { tamperBody: (b) => JSON.stringify({ ...JSON.parse(b), x: 1 }) })
  },
  {
    name: 'the body and its Content-Digest are replaced after signing',
    only: 'body',
    status: 401,
    description: BAD_SIGNATURE,
    run: (t) => craft(t, { replaceBody: { ...t.body, x: 1 } })
  },
  {
    name: "another key signs under the client's keyid",
    status: 401,
    description: BAD_SIGNATURE,
    run: (t) => signed(t, { key: strangerKey })
  },
  {
    name: 'the keyid is not among the client keys',
    status: 400,
    description: /^could not determine client$/,
    run: (t) => signed(t, { keyid: `unknown-${randomUUID()}` })
  },
  {
    name: 'created is 301 s old (SIGNATURE_MAX_AGE_SECONDS 300)',
    status: 401,
    description: STALE,
    run: (t) => signed(t, { created: nowSeconds() - 301 })
  },
  {
    name: 'created is 10 minutes in the future',
    status: 401,
    description: STALE,
    run: (t) => signed(t, { created: nowSeconds() + 600 })
  },
  {
    name: '@target-uri is not covered',
    status: 401,
    description: UNCOVERED,
    run: (t) => signed(t, { components: coveredWithout(t, '@target-uri') })
  },
  {
    name: '@method is not covered',
    status: 401,
    description: UNCOVERED,
    run: (t) => signed(t, { components: coveredWithout(t, '@method') })
  },
  {
    name: 'the Authorization header is not covered',
    only: 'token',
    status: 401,
    description: UNCOVERED,
    run: (t) => signed(t, { components: coveredWithout(t, 'authorization') })
  },
  {
    name: 'content-digest is not covered',
    only: 'body',
    status: 401,
    description: UNCOVERED,
    run: (t) => signed(t, { components: coveredWithout(t, 'content-digest') })
  },
  {
    name: 'a body comes without a Content-Digest header',
    only: 'body',
    status: 401,
    description: UNCOVERED,
    run: (t) => craft(t, { contentDigest: false, components: coveredWithout(t, 'content-digest') })
  },
  {
    name: 'the covered Content-Digest header is empty',
    only: 'body',
    status: 401,
    description: /^invalid signature headers: Content-Digest is required with a body$/,
    run: (t) => signed(t, { headers: { 'content-digest': '' } })
  },
  {
    name: 'there are no Signature headers at all',
    status: 401,
    description: /^invalid signature headers: Signature and Signature-Input are required$/,
    run: (t) => craft(t, { sign: false })
  },
  {
    name: 'it was signed for another path',
    status: 401,
    description: BAD_SIGNATURE,
    run: (t) => craft(t, { signUrl: `${server.authUrl}/${randomUUID()}` })
  },
  {
    name: 'it was signed for another host',
    status: 401,
    description: BAD_SIGNATURE,
    run: (t) => craft(t, { signUrl: t.url.replace('127.0.0.1', 'localhost') })
  },
  {
    name: 'it was signed for the host named by X-Forwarded-Host / -Proto',
    status: 401,
    description: BAD_SIGNATURE,
    run: (t) =>
      craft(t, {
        signUrl: `https://as.example${new URL(t.url).pathname}`,
        headers: { 'x-forwarded-host': 'as.example', 'x-forwarded-proto': 'https' }
      })
  }
]

interface Endpoint {
  name: string
  method: Target['method']
  /** Presents a token in `Authorization: GNAP`. */
  token: boolean
  target(): Promise<Target>
  /** Refused requests and the accepted ones below leave the target usable again. */
  repeatable: boolean
  ok: number
  check(res: TestResponse, t: Target): Promise<void>
}

const endpoints: Endpoint[] = [
  {
    name: 'POST {grantUrl} (grant request)',
    method: 'POST',
    token: false,
    target: async () => ({ url: server.grantUrl, method: 'POST', body: grantBody() }),
    repeatable: true,
    ok: 200,
    async check(res) {
      const token = (res.body as GrantWire).access_token
      assert.ok(token, res.text)
      assert.equal((await introspect(token.value)).active, true)
    }
  },
  {
    name: 'POST /continue/{id} (poll)',
    method: 'POST',
    token: true,
    async target() {
      const grant = await pendingGrant()
      return {
        url: grant.continue.uri,
        method: 'POST',
        body: {},
        token: grant.continue.access_token.value
      }
    },
    repeatable: true,
    ok: 200,
    async check(res, t) {
      assert.equal((res.body as GrantWire).continue.uri, t.url)
    }
  },
  {
    name: 'DELETE /continue/{id} (cancel)',
    method: 'DELETE',
    token: true,
    async target() {
      const grant = await issuedGrant()
      return { url: grant.continue.uri, method: 'DELETE', token: grant.continue.access_token.value }
    },
    repeatable: false,
    ok: 204,
    async check(_res, t) {
      // Cancelled now: a second cancel is refused.
      assertGnapError(await signed(t), 401, 'invalid_continuation', 'invalid grant')
    }
  },
  {
    name: 'POST /token/{id} (rotate)',
    method: 'POST',
    token: true,
    async target() {
      const token = (await issuedGrant()).access_token!
      return { url: token.manage, method: 'POST', token: token.value }
    },
    repeatable: false,
    ok: 200,
    async check(res, t) {
      const next = (res.body as { access_token: { value: string } }).access_token
      assert.equal((await introspect(next.value)).active, true)
      assert.equal((await introspect(t.token!)).active, false)
    }
  },
  {
    name: 'DELETE /token/{id} (revoke)',
    method: 'DELETE',
    token: true,
    async target() {
      const token = (await issuedGrant()).access_token!
      return { url: token.manage, method: 'DELETE', token: token.value }
    },
    repeatable: false,
    ok: 204,
    async check(_res, t) {
      assert.equal((await introspect(t.token!)).active, false)
    }
  }
]

for (const endpoint of endpoints) {
  describe(endpoint.name, () => {
    let target: Target
    before(async () => {
      target = await endpoint.target()
    })

    // Body refusals run on every POST; a rotation (no body from the SDK) gets an empty object.
    const applicable = refusals.filter(
      (r) =>
        (r.only !== 'body' || endpoint.method === 'POST') && (r.only !== 'token' || endpoint.token)
    )
    for (const refusal of applicable) {
      test(`refused when ${refusal.name}`, async () => {
        const t = refusal.only === 'body' ? { ...target, body: target.body ?? {} } : target
        assertGnapError(await refusal.run(t), refusal.status, 'invalid_client', refusal.description)
      })
    }

    if (endpoint.repeatable) {
      test('accepted with a sha-256 Content-Digest', async () => {
        const res = await signed(target, { digestAlgorithm: 'sha-256' })
        assert.equal(res.status, endpoint.ok, res.text)
        await endpoint.check(res, target)
      })
      test('accepted with a signature label other than sig1', async () => {
        const res = await signed(target, { label: 'gnap-client' })
        assert.equal(res.status, endpoint.ok, res.text)
        await endpoint.check(res, target)
      })
      test('accepted with created a little in the past and a little in the future', async () => {
        for (const created of [nowSeconds() - 240, nowSeconds() + 30]) {
          const res = await signed(target, { created })
          assert.equal(res.status, endpoint.ok, res.text)
        }
      })
    }

    test('a request signed as the SDK signs succeeds after all those refusals', async () => {
      const res = await signed(target)
      assert.equal(res.status, endpoint.ok, res.text)
      await endpoint.check(res, target)
    })
  })
}

test('a token rotation signed with another label is accepted too', async () => {
  const token = (await issuedGrant()).access_token!
  const res = await signed(
    { url: token.manage, method: 'POST', token: token.value },
    { label: 'x' }
  )
  assert.equal(res.status, 200, res.text)
})
