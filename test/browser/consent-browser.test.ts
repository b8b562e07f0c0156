import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { isPendingGrant } from '@interledger/open-payments'
import { chromium, type Browser } from 'playwright-core'
import { assertTokenIssued } from '../helpers/gnap-assertions.js'
import { interactRefFor } from '../helpers/interaction-driver.js'
import { outgoingPaymentAccess, sdkClientFor } from '../helpers/sdk-client.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { startWalletAddressServer, type TestClient } from '../helpers/wallet-address-server.js'

/**
 * The built-in consent screen in a real browser: Debian's Chromium driven by playwright-core
 * (never a downloaded browser). The official client asks for an outgoing payment, the browser
 * opens the link, the test reads the page as a person would, clicks, and lands on the client's
 * finish URI; the client then continues.
 *
 * Without Chromium the suite is skipped, unless OPAS_REQUIRE_BROWSER=1 (set by .ci/run, which
 * installs it): there a missing browser fails.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available && process.env.OPAS_REQUIRE_BROWSER === '1') {
  throw new Error(`OPAS_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`)
}

let server: TestServer
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>
let browser: Browser
let finishServer: Server
let finishUri: string
let count = 0

before(async () => {
  if (!available) return
  wallets = await startWalletAddressServer()
  server = await startTestServer({ IDENTITY_SERVER_URL: '' })
  // The client's own page, where the browser lands after the choice.
  finishServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Back at the shop</p>')
  })
  await new Promise<void>((resolve) => finishServer.listen(0, '127.0.0.1', resolve))
  finishUri = `http://127.0.0.1:${(finishServer.address() as AddressInfo).port}/done`
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Containers run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage']
  })
})
after(async () => {
  if (!available) return
  await browser?.close()
  await new Promise((resolve) => finishServer?.close(resolve))
  await server?.close()
  await wallets?.close()
})

async function requestOutgoingGrant() {
  const app: TestClient = wallets.addClient(`shop-${++count}`, {
    publicName: 'Corner Shop',
    authServer: server.grantUrl
  })
  const client = await sdkClientFor(app)
  const nonce = `client-nonce-${count}`
  const grant = await client.grant.request(
    { url: server.grantUrl },
    {
      access_token: {
        access: [outgoingPaymentAccess(`${wallets.url}/alice`)]
      },
      interact: { start: ['redirect'], finish: { method: 'redirect', uri: finishUri, nonce } }
    }
  )
  assert.ok(isPendingGrant(grant), 'an outgoing payment needs the account holder')
  return { app, client, grant, nonce }
}

describe('the consent screen in Chromium', { skip: available ? false : `no ${CHROMIUM}` }, () => {
  test('Accept: the page says who asks and for what; the client gets its token', async () => {
    const { app, client, grant, nonce } = await requestOutgoingGrant()
    const page = await browser.newPage()
    try {
      await page.goto(grant.interact.redirect)
      await page
        .getByRole('heading', { level: 1, name: 'Corner Shop asks for access to your account' })
        .waitFor()
      const text = await page.locator('main').innerText()
      assert.ok(text.includes(app.walletAddress), "the client's wallet address is shown")
      assert.ok(text.includes(`${wallets.url}/alice`), 'the account is shown')
      assert.match(text, /Send payments/)
      assert.match(text, /up to USD 5\.00 each month, for 12 months, from 1 Jan 2026 to 1 Jan 2027/)

      await Promise.all([
        page.waitForURL(`${finishUri}?**`),
        page.getByRole('button', { name: 'Accept' }).click()
      ])
      const back = new URL(page.url())
      const interactRef = back.searchParams.get('interact_ref')
      assert.ok(interactRef, 'the finish URI carries interact_ref')
      const expected = createHash('sha256')
        .update(`${nonce}\n${grant.interact.finish}\n${interactRef}\n${server.grantUrl}`)
        .digest('base64')
      assert.equal(back.searchParams.get('hash'), expected, 'the hash verifies')

      const continued = await client.grant.continue(
        { url: grant.continue.uri, accessToken: grant.continue.access_token.value },
        { interact_ref: interactRef }
      )
      await assertTokenIssued(server, { body: continued, text: JSON.stringify(continued) })
    } finally {
      await page.close()
    }
  })

  test('Decline: back at the client with grant_rejected; continuing is refused', async () => {
    const { client, grant } = await requestOutgoingGrant()
    const page = await browser.newPage()
    try {
      await page.goto(grant.interact.redirect)
      await Promise.all([
        page.waitForURL(`${finishUri}?**`),
        page.getByRole('button', { name: 'Decline' }).click()
      ])
      const back = new URL(page.url())
      assert.equal(back.searchParams.get('result'), 'grant_rejected')
      assert.equal(back.searchParams.get('hash'), null)
      // The interaction's real reference, as if the client had it: the rejection refuses it.
      const interactRef = await interactRefFor(server, grant.continue.uri)
      await assert.rejects(
        client.grant.continue(
          { url: grant.continue.uri, accessToken: grant.continue.access_token.value },
          { interact_ref: interactRef }
        ),
        (err: { status?: number; code?: string }) =>
          err.status === 404 && err.code === 'invalid_continuation'
      )
    } finally {
      await page.close()
    }
  })

  test('on a phone-sized screen both buttons are visible without scrolling sideways', async () => {
    const { grant } = await requestOutgoingGrant()
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } })
    try {
      await page.goto(grant.interact.redirect)
      for (const name of ['Accept', 'Decline']) {
        const box = await page.getByRole('button', { name }).boundingBox()
        assert.ok(box && box.x >= 0 && box.x + box.width <= 360, `${name} fits the width`)
      }
      const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'))
      assert.ok(scrollWidth <= 360, `no horizontal scroll (${scrollWidth}px)`)
    } finally {
      await page.close()
    }
  })
})
