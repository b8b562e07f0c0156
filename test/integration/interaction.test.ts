import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { send, type TestResponse } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import {
  assertGnapError,
  createGrantFlows,
  FINISH_URI,
  type GrantFlows,
  type PendingGrant,
  type StartedInteraction
} from './support/grant-flows.js'

/**
 * The interaction front channel (browser: start and finish, RFC 9635 §4.1.1 / §4.2.1), the IdP
 * back channel (id-provider.yaml) and the continuation rules around them (RFC 9635 §5,
 * Rafiki behaviour §2.1, §2.2, §4, §5).
 */

let wallets: WalletAddressServer
let server: TestServer
let client: TestClient
let flows: GrantFlows

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer({ WAIT_SECONDS: '0' })
  client = wallets.addClient('shop', { publicName: 'Real Shop', authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  await server.close()
  await wallets.close()
})

/** The Set-Cookie lines of an answer, as name, value and lower-cased attributes. */
function setCookies(res: TestResponse) {
  return res.headers.getSetCookie().map((line) => {
    const [pair, ...attrs] = line.split(';').map((part) => part.trim())
    const [name, ...value] = pair!.split('=')
    const attributes = new Map(
      attrs.map((a) => {
        const [k, ...v] = a.split('=')
        return [k!.toLowerCase(), v.join('=')] as const
      })
    )
    return { name: name!, value: value.join('='), attributes }
  })
}

/** Asserts the answer clears the interaction cookie on the interaction's own path. */
function assertSessionCleared(res: TestResponse, started: StartedInteraction): void {
  const cleared = setCookies(res).find((c) => c.name === 'opas_interaction')
  assert.ok(cleared, `the session cookie is cleared: ${res.headers.getSetCookie().join(' | ')}`)
  assert.equal(cleared.value, '')
  assert.equal(cleared.attributes.get('path'), `/interact/${started.id}/${started.nonce}`)
  const expires = cleared.attributes.get('expires')
  assert.ok(
    cleared.attributes.get('max-age') === '0' ||
      (expires !== undefined && Date.parse(expires) <= Date.now()),
    'the cleared cookie expires at once'
  )
}

const locationOf = (res: TestResponse) => {
  assert.equal(res.status, 302, `expected a redirect, got ${res.status}: ${res.text}`)
  return new URL(res.headers.get('location')!)
}

const expectedHash = (pending: PendingGrant, interactRef: string, clientNonce = 'client-nonce') =>
  createHash('sha256')
    .update(`${clientNonce}\n${pending.finish}\n${interactRef}\n${server.grantUrl}`)
    .digest('base64')

/** A pending grant whose interaction the browser has started. */
async function started(opts: { finish?: boolean; clientNonce?: string } = {}) {
  const pending = await flows.requestInteractive(opts)
  return { pending, started: await flows.startInteraction(pending.redirect) }
}

async function accepted(opts: { finish?: boolean; clientNonce?: string } = {}) {
  const s = await started(opts)
  assert.equal((await flows.idpChoose(s.started.id, s.started.nonce, 'accept')).status, 202)
  return s
}

const finishUrl = (s: StartedInteraction) => `${server.authUrl}/interact/${s.id}/${s.nonce}/finish`

describe('front channel: the browser session', () => {
  test('finish without the session cookie: 401 invalid_request, then the cookie works', async () => {
    const { pending, started: s } = await accepted()
    assertGnapError(await send(finishUrl(s), {}), 401, 'invalid_request', 'invalid session')
    // A cookie with the right value but no valid signature is no session either.
    const forged = `opas_interaction=${s.id}`
    assertGnapError(
      await send(finishUrl(s), { headers: { cookie: forged } }),
      401,
      'invalid_request',
      'invalid session'
    )
    const back = locationOf(await flows.finishInteraction(s.id, s.nonce, s.cookie))
    assert.equal(back.origin + back.pathname, new URL(FINISH_URI).origin + '/return')
    const ref = back.searchParams.get('interact_ref')!
    assert.equal(back.searchParams.get('hash'), expectedHash(pending, ref))
  })

  test("another interaction's cookie does not finish this one", async () => {
    const a = await accepted()
    const b = await accepted()
    assertGnapError(
      await flows.finishInteraction(a.started.id, a.started.nonce, b.started.cookie),
      401,
      'invalid_request',
      'invalid session'
    )
  })

  test('start sets an httpOnly cookie scoped to the interaction path', async () => {
    const pending = await flows.requestInteractive()
    const res = await send(pending.redirect, {})
    const idp = locationOf(res)
    const cookie = setCookies(res).find((c) => c.name === 'opas_interaction')
    assert.ok(cookie)
    assert.notEqual(cookie.value, '')
    const path = `/interact/${idp.searchParams.get('interactId')}/${idp.searchParams.get('nonce')}`
    assert.equal(cookie.attributes.get('path'), path)
    assert.ok(cookie.attributes.has('httponly'))
    assert.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'lax')
  })

  test('the successful finish ends the session; a replay of the old cookie gains nothing', async () => {
    const { pending, started: s } = await accepted()
    const first = await flows.finishInteraction(s.id, s.nonce, s.cookie)
    const back = locationOf(first)
    assertSessionCleared(first, s)
    const ref = back.searchParams.get('interact_ref')!
    const cont = await flows.continueGrant(pending, { interact_ref: ref })
    assert.equal(cont.status, 200, cont.text)

    // The session is a signed cookie with no server-side store: a client that ignores the
    // clearing Set-Cookie and replays the old value is sent back to the same place, with the same
    // hash and reference it already had, and the finish changes nothing on the server (Rafiki's
    // finish re-approved the grant, weakness §12.8).
    const replay = await flows.finishInteraction(s.id, s.nonce, s.cookie)
    assert.equal(locationOf(replay).href, back.href)
    assertSessionCleared(replay, s)
    assertGnapError(
      await flows.continueGrant(pending, { interact_ref: ref }),
      401,
      'request_denied',
      'grant already continued: token issued'
    )
  })

  test('one browser runs two interactions at once (path-scoped cookies)', async () => {
    // A minimal browser cookie jar: a cookie goes only to URLs under its Path (RFC 6265 §5.4).
    const jar: { pair: string; path: string }[] = []
    const browse = async (url: string) => {
      const { pathname } = new URL(url)
      const cookie = jar
        .filter((c) => pathname === c.path || pathname.startsWith(`${c.path}/`))
        .map((c) => c.pair)
        .join('; ')
      const res = await send(url, { headers: cookie ? { cookie } : {} })
      for (const c of setCookies(res))
        jar.push({ pair: `${c.name}=${c.value}`, path: c.attributes.get('path')! })
      return res
    }
    const a = await flows.requestInteractive({ clientNonce: 'nonce-a' })
    const b = await flows.requestInteractive({ clientNonce: 'nonce-b' })
    const idpA = locationOf(await browse(a.redirect))
    const idpB = locationOf(await browse(b.redirect))
    assert.equal(jar.length, 2, 'two sessions side by side')
    const backs = []
    for (const [pending, idp] of [
      [a, idpA],
      [b, idpB]
    ] as const) {
      const id = idp.searchParams.get('interactId')!
      const nonce = idp.searchParams.get('nonce')!
      assert.equal((await flows.idpChoose(id, nonce, 'accept')).status, 202)
      backs.push({
        pending,
        back: locationOf(await browse(`${server.authUrl}/interact/${id}/${nonce}/finish`))
      })
    }
    const [refA, refB] = backs.map((x) => x.back.searchParams.get('interact_ref')!)
    assert.notEqual(refA, refB)
    assert.equal(backs[0]!.back.searchParams.get('hash'), expectedHash(a, refA!, 'nonce-a'))
    assert.equal(backs[1]!.back.searchParams.get('hash'), expectedHash(b, refB!, 'nonce-b'))
    assert.equal((await flows.continueGrant(a, { interact_ref: refA })).status, 200)
    assert.equal((await flows.continueGrant(b, { interact_ref: refB })).status, 200)
  })
})

describe('front channel: start', () => {
  test('start on a decided interaction: back to the client with result=invalid_interaction', async () => {
    const { pending } = await accepted()
    const res = await send(pending.redirect, {})
    const back = locationOf(res)
    assert.equal(back.origin + back.pathname, new URL(FINISH_URI).origin + '/return')
    assert.equal(back.searchParams.get('session'), '1')
    assert.equal(back.searchParams.get('result'), 'invalid_interaction')
    assert.equal(back.searchParams.get('message'), 'invalid interaction')
    assert.equal(back.searchParams.get('hash'), null)
  })

  test('a browser opening a used link reads so on a plain page, not sent to a finish URL that may be gone', async () => {
    for (const finish of [true, false]) {
      const { pending } = await accepted({ finish })
      const res = await send(pending.redirect, {
        headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
      })
      assert.equal(res.status, 403, res.text)
      assert.equal(res.headers.get('location'), null)
      assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/)
      assert.match(res.text, /This link was already used/)
      assert.doesNotMatch(res.text, /\/return|hash=|interact_ref/, 'nothing of the finish URL')
    }
  })

  test('start on a decided interaction of a polling grant: 403 invalid_interaction', async () => {
    const { pending } = await accepted({ finish: false })
    assertGnapError(
      await send(pending.redirect, {}),
      403,
      'invalid_interaction',
      'invalid interaction'
    )
  })

  test('unknown interaction at start: 400 unknown_interaction (never a 500)', async () => {
    const pending = await flows.requestInteractive()
    const { pathname } = new URL(pending.redirect)
    const [, , id, nonce] = pathname.split('/')
    for (const path of [
      `/interact/${randomUUID()}/${nonce}`,
      `/interact/${id}/${'0'.repeat(32)}`,
      `/interact/not-a-uuid/${nonce}`
    ]) {
      assertGnapError(
        await send(`${server.authUrl}${path}`, {}),
        400,
        'unknown_interaction',
        'unknown interaction'
      )
    }
  })

  test('the consent screen names the client from its wallet address, not the start URL', async () => {
    const pending = await flows.requestInteractive()
    const forged = new URL(pending.redirect)
    forged.searchParams.set('clientName', 'Evil')
    forged.searchParams.set('clientUri', 'http://127.0.0.1:9/evil')
    const s = await flows.startInteraction(forged.href)
    assert.equal(s.location.searchParams.get('clientName'), 'Real Shop')
    assert.equal(s.location.searchParams.get('clientUri'), client.walletAddress)
    const details = await flows.idpDetails(s.id, s.nonce)
    assert.equal(details.status, 200, details.text)
    const body = details.body as Record<string, unknown>
    assert.deepEqual(body.client, { walletAddress: client.walletAddress, name: 'Real Shop' })
    assert.deepEqual(body.access, [flows.outgoing])
    assert.equal(body.state, 'PENDING')
    assert.equal(typeof body.grantId, 'string')
  })
})

describe('back channel: decisions', () => {
  test('a second decision is refused; the first one stands', async () => {
    const { started: s } = await accepted()
    for (const choice of ['accept', 'reject'] as const) {
      assertGnapError(
        await flows.idpChoose(s.id, s.nonce, choice),
        400,
        'invalid_interaction',
        'invalid interaction'
      )
    }
    assert.equal(
      ((await flows.idpDetails(s.id, s.nonce)).body as { state: string }).state,
      'APPROVED'
    )
  })

  test('accept after reject: 401 user_denied (the reject already finalised the grant)', async () => {
    const { pending, started: s } = await started()
    assert.equal((await flows.idpChoose(s.id, s.nonce, 'reject')).status, 202)
    assertGnapError(
      await flows.idpChoose(s.id, s.nonce, 'accept'),
      401,
      'user_denied',
      'user denied interaction'
    )
    assert.equal(
      ((await flows.idpDetails(s.id, s.nonce)).body as { state: string }).state,
      'DENIED'
    )
    const back = locationOf(await flows.finishInteraction(s.id, s.nonce, s.cookie))
    assert.equal(back.searchParams.get('result'), 'grant_rejected')
    assertGnapError(
      await flows.continueGrant(pending),
      401,
      'request_denied',
      'grant cannot be polled'
    )
  })

  test("a cancelled grant's interaction: start refuses it, the IdP no longer knows it", async () => {
    const { pending, started: s } = await started()
    assert.equal((await flows.cancelGrant(pending)).status, 204)
    const back = locationOf(await send(pending.redirect, {}))
    assert.equal(back.searchParams.get('result'), 'invalid_interaction')
    assert.equal(back.searchParams.get('message'), 'invalid interaction')
    assertGnapError(
      await flows.idpDetails(s.id, s.nonce),
      404,
      'unknown_interaction',
      'unknown interaction'
    )
    assertGnapError(
      await flows.idpChoose(s.id, s.nonce, 'accept'),
      404,
      'unknown_interaction',
      'unknown interaction'
    )
    const finished = locationOf(await flows.finishInteraction(s.id, s.nonce, s.cookie))
    assert.equal(finished.searchParams.get('result'), 'unknown_interaction')
    assert.equal(finished.searchParams.get('interact_ref'), null)
  })

  test("a cancelled polling grant's interaction: start answers 403 invalid_interaction", async () => {
    const { pending } = await started({ finish: false })
    assert.equal((await flows.cancelGrant(pending)).status, 204)
    assertGnapError(
      await send(pending.redirect, {}),
      403,
      'invalid_interaction',
      'invalid interaction'
    )
  })
})

/**
 * Expiry is judged on the database's clock against when the interaction was created: the test
 * moves that moment back past INTERACTION_EXPIRY_SECONDS rather than sleeping, so a slow moment
 * of the machine cannot expire an interaction before the test means it to.
 */
describe('interaction expiry (INTERACTION_EXPIRY_SECONDS=600)', () => {
  let short: TestServer
  let shortFlows: GrantFlows
  before(async () => {
    short = await startTestServer({ INTERACTION_EXPIRY_SECONDS: '600' })
    const c = wallets.addClient('short', { authServer: short.grantUrl })
    shortFlows = createGrantFlows(short, c, `${wallets.url}/alice`)
  })
  after(() => short.close())

  test('accept, start and finish of an expired interaction are refused', async () => {
    const finishable = await shortFlows.requestInteractive()
    const polling = await shortFlows.requestInteractive({ finish: false })
    const s = await shortFlows.startInteraction(finishable.redirect)
    const p = await shortFlows.startInteraction(polling.redirect)
    await short.services.db.query(
      "update interactions set created_at = created_at - interval '601 seconds' where id = any($1)",
      [[s.id, p.id]]
    )
    assertGnapError(
      await shortFlows.idpChoose(s.id, s.nonce, 'accept'),
      400,
      'invalid_interaction',
      'invalid interaction'
    )
    const back = locationOf(await shortFlows.finishInteraction(s.id, s.nonce, s.cookie))
    assert.equal(back.searchParams.get('result'), 'invalid_interaction')
    assert.equal(back.searchParams.get('message'), 'interaction expired')
    assert.equal(back.searchParams.get('interact_ref'), null)
    const restart = locationOf(await send(finishable.redirect, {}))
    assert.equal(restart.searchParams.get('message'), 'interaction expired')
    assertGnapError(
      await shortFlows.finishInteraction(p.id, p.nonce, p.cookie),
      401,
      'invalid_interaction',
      'interaction expired'
    )
    // The grant stays pending: no token can come of it.
    const poll = await shortFlows.continueGrant(polling)
    assert.equal(poll.status, 200, poll.text)
    assert.equal((poll.body as { access_token?: unknown }).access_token, undefined)
  })
})
