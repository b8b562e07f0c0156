import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { postJson, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { assertGnapError, countRows } from '../helpers/gnap-assertions.js'

/**
 * Refused grant requests (schema, semantic and client failures) and refused token management:
 * each answers the GNAP envelope with the exact code, and none of them writes a row.
 */

let server: TestServer
let wallets: WalletAddressServer
let app: TestClient
let world: ServerWithClient | undefined
let nameless: TestClient

before(async () => {
  world = await startServerWithClient()
  ;({ server, wallets, app } = world)
  nameless = wallets.addClient('nameless', { authServer: server.grantUrl, publicName: null })
})
after(() => world?.close())

const tables = ['grants', 'access_tokens', 'accesses', 'interactions', 'subjects'] as const
async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of tables) counts[table] = await countRows(server, table)
  return counts
}

/** Runs a refused request and proves it wrote nothing. */
async function refusedWithoutWrites(request: () => Promise<TestResponse>): Promise<TestResponse> {
  const before = await rowCounts()
  const res = await request()
  assert.deepEqual(await rowCounts(), before, `rows written by a refused request: ${res.text}`)
  return res
}

const amount = (value = '500') => ({ value, assetCode: 'USD', assetScale: 2 })
const outgoing = (limits?: Record<string, unknown>) => ({
  type: 'outgoing-payment',
  actions: ['create', 'read'],
  identifier: 'https://wallet.example/alice',
  ...(limits ? { limits } : {})
})
const interact = { start: ['redirect'] }
const withAccess = (access: unknown[], extra: Record<string, unknown> = {}) => ({
  client: app.walletAddress,
  access_token: { access },
  ...extra
})

interface Case {
  name: string
  body: () => Record<string, unknown>
  signer?: () => TestClient
  /** Changes the body after signing. */
  tamper?: (body: string) => string
  status: number
  code: string
  description: string | RegExp
}

const cases: Case[] = [
  {
    name: 'no client',
    body: () => ({ access_token: { access: [{ type: 'quote', actions: ['create'] }] } }),
    status: 400,
    code: 'invalid_request',
    description: "body must have required property 'client'"
  },
  {
    name: 'an access item with an extra property',
    body: () => withAccess([{ type: 'incoming-payment', actions: ['read'], extra: true }]),
    status: 400,
    code: 'invalid_request',
    description: 'body/access_token/access/0 must NOT have additional properties'
  },
  {
    name: 'an action the access type does not have',
    body: () => withAccess([{ type: 'quote', actions: ['complete'] }]),
    status: 400,
    code: 'invalid_request',
    description: /^body\/access_token\/access\/0\/actions\/0 /
  },
  {
    name: 'an unknown access type',
    body: () => withAccess([{ type: 'refund', actions: ['create'] }]),
    status: 400,
    code: 'invalid_request',
    description: /^body\/access_token\/access\/0 value of tag "type"/
  },
  {
    name: 'four access items',
    body: () =>
      withAccess([
        { type: 'incoming-payment', actions: ['read'] },
        { type: 'incoming-payment', actions: ['create'] },
        { type: 'quote', actions: ['read'] },
        { type: 'quote', actions: ['create'] }
      ]),
    status: 400,
    code: 'invalid_request',
    description: 'body/access_token/access must NOT have more than 3 items'
  },
  {
    name: 'an outgoing payment without identifier',
    body: () => withAccess([{ type: 'outgoing-payment', actions: ['create'] }], { interact }),
    status: 400,
    code: 'invalid_request',
    description: "body/access_token/access/0 must have required property 'identifier'"
  },
  {
    name: 'both debitAmount and receiveAmount',
    body: () =>
      withAccess([outgoing({ debitAmount: amount(), receiveAmount: amount() })], { interact }),
    status: 400,
    code: 'invalid_request',
    description: 'only one access amount allowed'
  },
  {
    name: 'an amount beyond uint64',
    body: () =>
      withAccess([outgoing({ debitAmount: amount('18446744073709551616') })], { interact }),
    status: 400,
    code: 'invalid_request',
    description: 'amount value must be an unsigned 64-bit integer'
  },
  {
    name: "a malformed interval 'R12/not-a-date/P1M'",
    body: () =>
      withAccess([outgoing({ debitAmount: amount(), interval: 'R12/not-a-date/P1M' })], {
        interact
      }),
    status: 400,
    code: 'invalid_request',
    description: 'limits interval must be an ISO 8601 repeating interval'
  },
  {
    name: 'access: [] and no subject',
    body: () => withAccess([]),
    status: 400,
    code: 'invalid_request',
    description: 'subject or access_token required'
  },
  {
    name: 'an outgoing payment (needs consent) without interact',
    body: () => withAccess([outgoing()]),
    status: 400,
    code: 'invalid_request',
    description: "missing required request field 'interact'"
  },
  {
    name: 'a JWK client asking for an interactive grant',
    body: () => ({ ...withAccess([outgoing()], { interact }), client: { jwk: app.publicJwk } }),
    status: 400,
    code: 'invalid_client',
    description: 'JWK client identifier cannot be used for interactive grants'
  },
  {
    name: 'an interactive grant for a wallet address without publicName',
    body: () => ({ ...withAccess([outgoing()], { interact }), client: nameless.walletAddress }),
    signer: () => nameless,
    status: 400,
    code: 'invalid_client',
    description: "missing required request field 'client'"
  },
  {
    name: 'a body changed after signing',
    body: () => withAccess([{ type: 'quote', actions: ['create'] }]),
    tamper: (body) => body.replace('"create"', '"read"'),
    status: 401,
    code: 'invalid_client',
    description: /^invalid signature headers/
  }
]

describe('refused grant requests', () => {
  for (const c of cases) {
    test(`${c.name}: ${c.status} ${c.code}, nothing written`, async () => {
      const res = await refusedWithoutWrites(() =>
        signedRequest(server.grantUrl, {
          client: c.signer?.() ?? app,
          body: c.body(),
          tamperBody: c.tamper
        })
      )
      assertGnapError(res, c.status, c.code, c.description)
    })
  }

  test('control: the same requests, corrected, are granted and do write', async () => {
    const before = await countRows(server, 'grants')
    const pending = await signedRequest(server.grantUrl, {
      client: app,
      body: withAccess(
        [outgoing({ debitAmount: amount(), interval: 'R12/2026-01-01T00:00:00Z/P1M' })],
        {
          interact
        }
      )
    })
    assert.equal(pending.status, 200, pending.text)
    assert.equal(await countRows(server, 'grants'), before + 1)
  })
})

describe('refused token and continuation management', () => {
  let token: { value: string; manage: string }
  let other: { value: string; manage: string }
  let continuation: { uri: string; access_token: { value: string } }
  before(async () => {
    const issue = async () => {
      const res = await signedRequest(server.grantUrl, {
        client: app,
        body: withAccess([{ type: 'incoming-payment', actions: ['read'] }])
      })
      assert.equal(res.status, 200, res.text)
      return res.body as {
        access_token: { value: string; manage: string }
        continue: { uri: string; access_token: { value: string } }
      }
    }
    const first = await issue()
    token = first.access_token
    continuation = first.continue
    other = (await issue()).access_token
  })

  test('a rotation presenting another token is refused and writes nothing', async () => {
    const res = await refusedWithoutWrites(() =>
      signedRequest(token.manage, { method: 'POST', client: app, token: other.value })
    )
    assertGnapError(res, 401, 'invalid_client', 'invalid access token')
  })

  test('a rotation with a stale signature is refused and writes nothing', async () => {
    const res = await refusedWithoutWrites(() =>
      signedRequest(token.manage, {
        method: 'POST',
        client: app,
        token: token.value,
        created: Math.floor(Date.now() / 1000) - 301
      })
    )
    assertGnapError(res, 401, 'invalid_client', /^invalid signature headers/)
  })

  test('a cancel with the wrong continuation token is refused and writes nothing', async () => {
    const res = await refusedWithoutWrites(() =>
      signedRequest(continuation.uri, { method: 'DELETE', client: app, token: other.value })
    )
    assertGnapError(res, 401, 'invalid_continuation', 'invalid grant')
  })

  test('the refusals left both tokens active', async () => {
    for (const value of [token.value, other.value]) {
      const info = await postJson(`${server.introspectionUrl}/`, { access_token: value })
      assert.deepEqual((info.body as { active: boolean }).active, true)
    }
  })
})
