import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { send, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import { assertGnapError, assertTokenIssued, countRows } from '../helpers/gnap-assertions.js'
import {
  answerConsentScreen as answer,
  interactRefFor,
  openConsentScreen
} from '../helpers/interaction-driver.js'
import { outgoingPaymentAccess } from '../helpers/sdk-client.js'
import {
  createGrantFlows,
  FINISH_URI,
  type GrantFlows,
  type PendingGrant
} from './support/grant-flows.js'

/**
 * The built-in consent screen (CONSENT_SCREEN=builtin, the development default when
 * IDENTITY_SERVER_URL is unset), driven as a browser drives it: plain HTTP with the session
 * cookie and the form post. The Chromium test (test/browser) clicks the real page.
 */

let wallets: WalletAddressServer
let server: TestServer
let client: TestClient
let flows: GrantFlows
const alice = () => `${wallets.url}/alice`

before(async () => {
  wallets = await startWalletAddressServer()
  // An empty value is unset: no IdP, so the built-in screen asks.
  server = await startTestServer({ IDENTITY_SERVER_URL: '' })
  client = wallets.addClient('shop', { publicName: 'Real Shop', authServer: server.grantUrl })
  flows = createGrantFlows(server, client, alice())
})
after(async () => {
  await server.close()
  await wallets.close()
})

const htmlAccept = { accept: 'text/html,application/xhtml+xml' }

/** The browser follows the interaction link to the consent page, keeping its session cookie. */
const open = (pending: PendingGrant, redirect = pending.redirect) =>
  openConsentScreen(redirect, htmlAccept)

async function grantState(pending: PendingGrant): Promise<string> {
  const continueId = pending.continueUri.split('/').pop()
  const { rows } = await server.services.db.query<{ state: string }>(
    'select state from grants where continue_id = $1',
    [continueId]
  )
  return rows[0]!.state
}

function assertPage(res: TestResponse, status: number, text: RegExp): void {
  assert.equal(res.status, status, res.text)
  assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/)
  assert.match(res.text, text)
  assert.doesNotMatch(res.text, /name="csrf"/, 'no form on a notice page')
  assert.doesNotMatch(res.text, /\bat \S+\.(ts|js):\d+/, 'no stack trace')
}

describe('the page', () => {
  test('names the client from its wallet address document, not from the URL, and states the access in words', async () => {
    const pending = await flows.requestInteractive()
    // The interaction URL carries a clientName a client could forge; the page ignores it.
    const forged = new URL(pending.redirect)
    forged.searchParams.set('clientName', 'Your Bank')
    const { page } = await open(pending, forged.href)
    assert.equal(page.status, 200, page.text)
    assert.match(page.text, /<h1>Real Shop asks for access to your account<\/h1>/)
    assert.doesNotMatch(page.text, /Your Bank/)
    assert.ok(page.text.includes(client.walletAddress), "the client's wallet address")
    assert.match(page.text, /Send payments/)
    assert.match(page.text, /create payments/)
    assert.ok(page.text.includes(`${wallets.url}/alice`), 'the account it applies to')
    assert.match(
      page.text,
      /up to USD 5\.00 each month, for 12 months, from 1 Jan 2026 to 1 Jan 2027/
    )
    assert.match(page.text, /<button type="submit" name="choice" value="accept">Accept<\/button>/)
    assert.match(page.text, /<button type="submit" name="choice" value="decline">Decline<\/button>/)
    assert.match(page.text, /<html lang="en">/)
    assert.match(page.text, /name="viewport" content="width=device-width/)
  })

  test('is served so that it cannot be framed, cached or run script', async () => {
    const { page } = await open(await flows.requestInteractive())
    const csp = page.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /frame-ancestors 'none'/)
    assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    assert.equal(page.headers.get('cache-control'), 'no-store')
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer')
    assert.doesNotMatch(page.text, /<script/i)
    // The inline style sheet is the one the policy allows.
    const css = /<style>([\s\S]*?)<\/style>/.exec(page.text)![1]!
    const hash = createHash('sha256').update(css).digest('base64')
    assert.ok(csp.includes(`'sha256-${hash}'`), 'the style hash matches')
  })

  test('a client name or address with markup is shown as text', async () => {
    const tricky = wallets.addClient('tricky', {
      publicName: '<img src=x onerror=alert(1)> & "Co"',
      authServer: server.grantUrl
    })
    const { page } = await open(
      await createGrantFlows(server, tricky, alice()).requestInteractive()
    )
    assert.equal(page.status, 200, page.text)
    assert.ok(page.text.includes('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;'))
    assert.doesNotMatch(page.text, /<img/)
  })
})

describe('answering', () => {
  test('Accept: on to the finish, back to the client with a hash that verifies, and the token', async () => {
    const pending = await flows.requestInteractive({ clientNonce: 'client-nonce-42' })
    const opened = await open(pending)
    const accepted = await answer(opened, 'accept')
    assert.equal(accepted.status, 303, accepted.text)
    const finishUrl = accepted.headers.get('location')!
    assert.equal(finishUrl, opened.url.replace(/consent$/, 'finish'))
    const finish = await send(finishUrl, { headers: { ...htmlAccept, cookie: opened.cookie } })
    assert.equal(finish.status, 302, finish.text)
    const back = new URL(finish.headers.get('location')!)
    const finishUri = new URL(FINISH_URI)
    assert.equal(`${back.origin}${back.pathname}`, `${finishUri.origin}${finishUri.pathname}`)
    const interactRef = back.searchParams.get('interact_ref')!
    // RFC 9635 §4.2.3 (standard Base64, as Open Payments clients check it).
    const expected = createHash('sha256')
      .update(`client-nonce-42\n${pending.finish}\n${interactRef}\n${server.grantUrl}`)
      .digest('base64')
    assert.equal(back.searchParams.get('hash'), expected)
    const cont = await flows.continueGrant(pending, { interact_ref: interactRef })
    assert.equal(cont.status, 200, cont.text)
    await assertTokenIssued(server, cont)
  })

  test('Decline: back to the client with grant_rejected, and no token', async () => {
    const tokens = await countRows(server, 'access_tokens')
    const pending = await flows.requestInteractive()
    const opened = await open(pending)
    const declined = await answer(opened, 'decline')
    assert.equal(declined.status, 303, declined.text)
    const finish = await send(declined.headers.get('location')!, {
      headers: { cookie: opened.cookie }
    })
    assert.equal(finish.status, 302)
    assert.equal(
      new URL(finish.headers.get('location')!).searchParams.get('result'),
      'grant_rejected'
    )
    assert.equal(await grantState(pending), 'FINALIZED')
    // The interaction's real reference, as if the client had it: the rejection refuses it.
    const interactRef = await interactRefFor(server, pending.continueUri)
    assertGnapError(
      await flows.continueGrant(pending, { interact_ref: interactRef }),
      404,
      'invalid_continuation',
      'grant not found'
    )
    assert.equal(await countRows(server, 'access_tokens'), tokens)
  })

  test('a polling client: after Accept the browser gets a page to close, the client its token', async () => {
    const pending = await flows.requestInteractive({ finish: false })
    const opened = await open(pending)
    const accepted = await answer(opened, 'accept')
    assert.equal(accepted.status, 303)
    const done = await send(accepted.headers.get('location')!, {
      headers: { ...htmlAccept, cookie: opened.cookie }
    })
    assert.equal(done.status, 202)
    assert.match(done.text, /close this window/)
    const poll = await flows.continueGrant(pending)
    assert.equal(poll.status, 200, poll.text)
    assert.ok((poll.body as { access_token?: unknown }).access_token)
  })
})

describe('safety', () => {
  test('a form without the right CSRF token records nothing', async () => {
    const pending = await flows.requestInteractive()
    const opened = await open(pending)
    const other = await open(await flows.requestInteractive())
    for (const csrf of ['', 'forged', other.csrf]) {
      assertPage(await answer(opened, 'accept', { csrf }), 403, /Answer not accepted/)
    }
    assertPage(await answer(opened, 'maybe'), 403, /Answer not accepted/)
    assert.equal(await grantState(pending), 'PENDING')
  })

  test('another browser (no session cookie, or another interaction’s) sees no question and cannot answer', async () => {
    const pending = await flows.requestInteractive()
    const opened = await open(pending)
    const other = await open(await flows.requestInteractive())
    assertPage(await send(opened.url, { headers: htmlAccept }), 403, /another browser/)
    assertPage(
      await send(opened.url, { headers: { ...htmlAccept, cookie: other.cookie } }),
      403,
      /another browser/
    )
    assertPage(await answer(opened, 'accept', { cookie: other.cookie }), 403, /another browser/)
    assert.equal(await grantState(pending), 'PENDING')
  })

  test('a double click lands on the finish both times; a later Decline is refused and changes nothing', async () => {
    const pending = await flows.requestInteractive()
    const opened = await open(pending)
    const clicks = await Promise.all([answer(opened, 'accept'), answer(opened, 'accept')])
    assert.deepEqual(
      clicks.map((r) => r.status),
      [303, 303]
    )
    assertPage(await answer(opened, 'decline'), 409, /already accepted/)
    assert.equal(await grantState(pending), 'APPROVED')
    assertPage(
      await send(opened.url, { headers: { ...htmlAccept, cookie: opened.cookie } }),
      409,
      /already accepted/
    )
  })

  test('Accept and Decline racing from two tabs: exactly one is recorded', async () => {
    for (let round = 0; round < 5; round++) {
      const pending = await flows.requestInteractive()
      const opened = await open(pending)
      const [a, d] = await Promise.all([answer(opened, 'accept'), answer(opened, 'decline')])
      const winners = [a, d].filter((r) => r.status === 303)
      assert.equal(winners.length, 1, `round ${round}: ${a.status} ${d.status}`)
      const loser = winners[0] === a ? d : a
      assertPage(loser, 409, winners[0] === a ? /already accepted/ : /already declined/)
      assert.equal(await grantState(pending), winners[0] === a ? 'APPROVED' : 'FINALIZED')
    }
  })

  test('expired, withdrawn and vanished interactions get a page, never the question', async () => {
    const expired = await flows.requestInteractive()
    const openedExpired = await open(expired)
    await server.services.db.query(
      "update interactions set created_at = now() - interval '1 day' where id = $1",
      [openedExpired.url.split('/').at(-3)]
    )
    assertPage(
      await send(openedExpired.url, { headers: { ...htmlAccept, cookie: openedExpired.cookie } }),
      410,
      /expired/
    )
    assertPage(await answer(openedExpired, 'accept'), 410, /expired/)

    const cancelled = await flows.requestInteractive()
    const openedCancelled = await open(cancelled)
    assert.equal((await flows.cancelGrant(cancelled)).status, 204)
    assertPage(
      await send(openedCancelled.url, {
        headers: { ...htmlAccept, cookie: openedCancelled.cookie }
      }),
      409,
      /withdrew/
    )
    assertPage(await answer(openedCancelled, 'accept'), 409, /withdrew/)

    const vanished = await flows.requestInteractive()
    const openedVanished = await open(vanished)
    await server.services.db.query('delete from grants where continue_id = $1', [
      vanished.continueUri.split('/').pop()
    ])
    assertPage(
      await send(openedVanished.url, { headers: { ...htmlAccept, cookie: openedVanished.cookie } }),
      404,
      /not found/
    )
  })
})

describe('callers that are not browsers, and tenants with an IdP', () => {
  test('a caller that does not ask for HTML gets each refusal as a GNAP error', async () => {
    const pending = await flows.requestInteractive()
    const opened = await open(pending)
    assertGnapError(await send(opened.url, {}), 403, 'invalid_request', 'invalid session')
    const forged = await send(opened.url, {
      method: 'POST',
      headers: { cookie: opened.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=nope&choice=accept'
    })
    assertGnapError(forged, 403, 'invalid_request', 'invalid consent form')
    assert.equal((await answer(opened, 'decline')).status, 303)
    assertGnapError(
      await send(opened.url, { headers: { cookie: opened.cookie } }),
      409,
      'invalid_interaction',
      'interaction already declined'
    )
  })

  test('an interaction of a tenant with its own IdP is unknown to the screen: its login cannot be skipped', async () => {
    const withIdp = await startTestServer()
    try {
      const app = wallets.addClient('idp-app', { authServer: withIdp.grantUrl })
      const { redirect } = await createGrantFlows(withIdp, app, alice()).requestInteractive({
        finish: false
      })
      const start = await send(redirect, {})
      assert.equal(start.status, 302)
      assert.doesNotMatch(start.headers.get('location')!, /\/consent$/, 'sent to the IdP')
      const cookie = start.headers.get('set-cookie')!.split(';')[0]!
      const consentUrl = `${new URL(redirect).origin}${new URL(redirect).pathname}/consent`
      assertPage(await send(consentUrl, { headers: { ...htmlAccept, cookie } }), 404, /not found/)
      const csrf = withIdp.services.consent.csrfToken(
        ...(new URL(redirect).pathname.split('/').slice(-2) as [string, string])
      )
      const posted = await send(consentUrl, {
        method: 'POST',
        headers: { ...htmlAccept, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, choice: 'accept' }).toString()
      })
      assertPage(posted, 404, /not found/)
      const { rows } = await withIdp.services.db.query<{ state: string }>(
        'select state from grants where client = $1',
        [app.walletAddress]
      )
      assert.deepEqual(rows, [{ state: 'PENDING' }])
    } finally {
      await withIdp.close()
    }
  })
})

describe('CONSENT_SCREEN=off', () => {
  test('no screen: an interactive grant to a tenant without an IdP is refused, as before', async () => {
    const off = await startTestServer({ IDENTITY_SERVER_URL: '', CONSENT_SCREEN: 'off' })
    try {
      const app = wallets.addClient('off-app', { authServer: off.grantUrl })
      const refused = await signedRequest(off.grantUrl, {
        client: app,
        body: {
          client: app.walletAddress,
          access_token: { access: [outgoingPaymentAccess(alice())] },
          interact: { start: ['redirect'] }
        }
      })
      assertGnapError(refused, 400, 'invalid_request', 'invalid tenant')
      assert.ok(
        !off.apps.auth.hasRoute({ method: 'GET', url: '/interact/:id/:nonce/consent' }),
        'the consent routes are not served'
      )
    } finally {
      await off.close()
    }
  })
})
