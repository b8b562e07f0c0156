import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { isPendingGrant } from '@interledger/open-payments'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page
} from 'playwright-core'
import { driveConsentScreen } from '../helpers/interaction-driver.js'
import { outgoingPaymentAccess, sdkClientFor } from '../helpers/sdk-client.js'
import { postJson } from '../helpers/signed-request.js'
import { authServiceClient } from '../helpers/tenants.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'

/**
 * The operator console in a real browser (Debian's Chromium through playwright-core), driven as
 * support staff drive it: by the labels and button names a person reads, with the mouse and
 * with the keyboard alone, on a desktop and on a 360 px phone. Every page is checked for CSP
 * violations and sideways scrolling. With OPAS_SCREENSHOTS_DIR set, each step's screenshot is
 * saved there (the README's picture comes from it).
 *
 * Without Chromium the suite is skipped, unless OPAS_REQUIRE_BROWSER=1 (set by .ci/run).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available && process.env.OPAS_REQUIRE_BROWSER === '1') {
  throw new Error(`OPAS_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`)
}
const SCREENSHOTS = process.env.OPAS_SCREENSHOTS_DIR

let server: TestServer
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>
let browser: Browser
let account: string
let count = 0

before(async () => {
  if (!available) return
  wallets = await startWalletAddressServer()
  server = await startTestServer({ IDENTITY_SERVER_URL: '' })
  account = `${wallets.url}/alice`
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage']
  })
  if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true })
})
after(async () => {
  if (!available) return
  await browser?.close()
  await server?.close()
  await wallets?.close()
})

/**
 * A grant the account holder accepted on the consent screen, continued by the official client:
 * an outgoing payment from alice's account to "Corner Shop", with its access token.
 */
async function acceptedGrant(tenant?: { id: string }) {
  const grantUrl = tenant ? `${server.services.config.authServerUrl}/${tenant.id}` : server.grantUrl
  const app = wallets.addClient(`shop-${++count}`, {
    publicName: 'Corner Shop',
    authServer: grantUrl
  })
  const client = await sdkClientFor(app)
  const grant = await client.grant.request(
    { url: grantUrl },
    {
      access_token: { access: [outgoingPaymentAccess(account)] },
      interact: {
        start: ['redirect'],
        finish: { method: 'redirect', uri: 'http://127.0.0.1:9/done', nonce: 'n' }
      }
    }
  )
  assert.ok(isPendingGrant(grant))
  const { finish } = await driveConsentScreen(grant.interact.redirect, 'accept')
  const interactRef = new URL(finish.headers.get('location')!).searchParams.get('interact_ref')!
  const continued = await client.grant.continue(
    { url: grant.continue.uri, accessToken: grant.continue.access_token.value },
    { interact_ref: interactRef }
  )
  assert.ok('access_token' in continued && continued.access_token)
  const token = continued.access_token.value
  const { body } = await postJson(`${server.introspectionUrl}/`, { access_token: token })
  return { app, token, grantId: (body as { grant: string }).grant }
}

const active = async (token: string) =>
  (
    (await postJson(`${server.introspectionUrl}/`, { access_token: token })).body as {
      active: boolean
    }
  ).active

/** A page that fails the test on any CSP violation or script error it reports. */
async function openPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(m.text())
  })
  page.on('pageerror', (err) => problems.push(err.message))
  return { page, problems }
}

async function noSidewaysScroll(page: Page, width: number) {
  const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'))
  assert.ok(
    scrollWidth <= width,
    `no horizontal scroll at ${width}px on ${page.url()} (${scrollWidth}px)`
  )
}

async function shot(page: Page, name: string) {
  if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

async function signIn(page: Page, tenantId: string, secret: string) {
  await page.goto(server.adminUrl)
  await page.getByLabel('Tenant ID').fill(tenantId)
  await page.getByLabel('API secret').fill(secret)
  await Promise.all([
    page.waitForURL('**/grants'),
    page.getByRole('button', { name: 'Sign in' }).click()
  ])
}

const operatorSecret = () => server.env.ADMIN_API_SECRET!

describe('the operator console in Chromium', { skip: available ? false : `no ${CHROMIUM}` }, () => {
  test('sign in, search a wallet address, open the grant, revoke it with confirmation', async () => {
    const { token, grantId, app } = await acceptedGrant()
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const { page, problems } = await openPage(context)
    try {
      await page.goto(server.adminUrl)
      await shot(page, 'sign-in-desktop')
      await signIn(page, server.tenantId, operatorSecret())
      await page.getByLabel('Wallet address').fill(account)
      await Promise.all([
        page.waitForURL('**/grants?**'),
        page.getByRole('button', { name: 'Search' }).click()
      ])
      const row = page
        .locator('ol.rows > li')
        .filter({ has: page.locator(`a[href="/grants/${grantId}"]`) })
      await row.waitFor()
      const rowText = await row.innerText()
      assert.match(rowText, /Corner Shop/)
      assert.ok(rowText.includes(app.walletAddress), "the app's wallet address")
      assert.match(rowText, /Send payments: up to USD 5\.00 each month/)
      assert.match(rowText, /ISSUED/i)
      await shot(page, 'grants-desktop')

      await Promise.all([
        page.waitForURL(`**/grants/${grantId}`),
        row.getByRole('link', { name: 'Corner Shop' }).click()
      ])
      await page.getByRole('heading', { level: 1, name: 'Grant to Corner Shop' }).waitFor()
      const text = await page.locator('main').innerText()
      assert.match(text, /up to USD 5\.00 each month, for 12 months, from 1 Jan 2026 to 1 Jan 2027/)
      // Its history from the audit trail: who acted, and from where.
      assert.match(text, /Requested by the client \S+ from \S+ \(asked for Send payments/)
      assert.match(text, /Approved by the account holder from /)
      assert.match(
        text,
        /Interaction finished by the account holder .*\(approved, sent back to the app\)/
      )
      assert.match(text, /Issued by the client \S+ from \S+ \(with an access token\)/)
      assert.match(text, /Token 1: Issued .*; live; expires/)
      assert.match(text, /Issued the app holds a live token\s+GNAP state\s+FINALIZED \(ISSUED\)/i)
      assert.ok(!text.includes(token), 'no token value')
      await shot(page, 'grant-desktop')

      await Promise.all([
        page.waitForURL(`**/grants/${grantId}/revoke?`),
        page.getByRole('button', { name: 'Revoke' }).click()
      ])
      assert.equal(await active(token), true, 'the confirmation page changed nothing')
      await shot(page, 'confirm-revoke-desktop')
      await Promise.all([
        page.waitForURL(`**/grants/${grantId}?revoked=1`),
        page.getByRole('button', { name: 'Confirm revoke' }).click()
      ])
      await page.getByRole('status').filter({ hasText: 'Grant revoked.' }).waitFor()
      assert.equal(await active(token), false, 'the token introspects inactive')

      await page.goto(`${server.adminUrl}/overview`)
      await page.getByRole('heading', { level: 1, name: 'The last hour' }).waitFor()
      await page.getByRole('button', { name: 'Pause live updates' }).waitFor()
      assert.match(await page.locator('main').innerText(), /Grants issued/)
      await shot(page, 'overview-desktop')

      await Promise.all([
        page.waitForURL(server.adminUrl + '/'),
        page.getByRole('button', { name: 'Sign out' }).click()
      ])
      await page.goto(`${server.adminUrl}/grants`)
      assert.match(await page.locator('main').innerText(), /Sign in to continue/)
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  test('with the keyboard alone on a 360 px screen', async () => {
    const { grantId } = await acceptedGrant()
    const context = await browser.newContext({
      viewport: { width: 360, height: 780 },
      isMobile: true,
      hasTouch: true
    })
    const { page, problems } = await openPage(context)
    /** Tab until `target` has the focus (at most 30 presses). */
    const tabTo = async (target: Locator) => {
      for (let i = 0; i < 30; i++) {
        // Whether the element has the focus (the browser's own `:focus`).
        if (await target.evaluate((el) => el.matches(':focus'))) return
        await page.keyboard.press('Tab')
      }
      assert.fail(`could not reach ${String(target)} with Tab`)
    }
    try {
      await page.goto(server.adminUrl)
      await noSidewaysScroll(page, 360)
      await shot(page, 'sign-in-360')
      // The tenant ID field has the focus when the page opens.
      await page.keyboard.type(server.tenantId)
      await page.keyboard.press('Tab')
      await page.keyboard.type(operatorSecret())
      await Promise.all([page.waitForURL('**/grants'), page.keyboard.press('Enter')])
      await tabTo(page.getByLabel('Wallet address'))
      await page.keyboard.type(account)
      await Promise.all([page.waitForURL('**/grants?**'), page.keyboard.press('Enter')])
      await noSidewaysScroll(page, 360)
      await shot(page, 'grants-360')
      await tabTo(page.locator(`a[href="/grants/${grantId}"]`))
      await Promise.all([page.waitForURL(`**/grants/${grantId}`), page.keyboard.press('Enter')])
      await noSidewaysScroll(page, 360)
      await shot(page, 'grant-360')
      await tabTo(page.getByRole('button', { name: 'Revoke' }))
      await Promise.all([page.waitForURL('**/revoke?'), page.keyboard.press('Enter')])
      await noSidewaysScroll(page, 360)
      await tabTo(page.getByRole('button', { name: 'Confirm revoke' }))
      await Promise.all([page.waitForURL('**?revoked=1'), page.keyboard.press('Enter')])
      await page.goto(`${server.adminUrl}/overview`)
      await noSidewaysScroll(page, 360)
      await shot(page, 'overview-360')
      for (const path of ['/tenants', '/tenants/new', `/tenants/${server.tenantId}`]) {
        await page.goto(`${server.adminUrl}${path}`)
        await noSidewaysScroll(page, 360)
      }
      await shot(page, 'tenant-360')
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  test("a tenant can neither see nor revoke the operator's grants", async () => {
    const { grantId, token } = await acceptedGrant()
    const tenant = { id: randomUUID(), apiSecret: `tenant-secret-${randomUUID()}` }
    assert.equal((await authServiceClient(server.serviceUrl).create(tenant)).status, 204)
    const own = await acceptedGrant(tenant)
    const context = await browser.newContext()
    const { page } = await openPage(context)
    try {
      await signIn(page, tenant.id, tenant.apiSecret)
      await page.getByLabel('Wallet address').fill(account)
      await Promise.all([
        page.waitForURL('**/grants?**'),
        page.getByRole('button', { name: 'Search' }).click()
      ])
      assert.equal(
        await page.locator(`a[href="/grants/${grantId}"]`).count(),
        0,
        "the operator's grant is not listed"
      )
      assert.equal(await page.locator(`a[href="/grants/${own.grantId}"]`).count(), 1, 'its own is')
      assert.equal(await page.getByRole('link', { name: 'Tenants' }).count(), 0, 'no tenants page')
      const direct = await page.goto(`${server.adminUrl}/grants/${grantId}`)
      assert.equal(direct?.status(), 404)
      await page.getByRole('heading', { name: 'Grant not found' }).waitFor()
      const confirm = await page.goto(`${server.adminUrl}/grants/${grantId}/revoke`)
      assert.equal(confirm?.status(), 404)
      // Its own confirmation form, pointed at the operator's grant.
      await page.goto(`${server.adminUrl}/grants/${own.grantId}/revoke`)
      await page
        .locator('form[action$="/revoke"]')
        .evaluate((form, id) => form.setAttribute('action', `/grants/${id}/revoke`), grantId)
      await page.getByRole('button', { name: 'Confirm revoke' }).click()
      await page.getByRole('heading', { name: 'Grant not found' }).waitFor()
      assert.equal(await active(token), true)
      const tenants = await page.goto(`${server.adminUrl}/tenants`)
      assert.equal(tenants?.status(), 403)
    } finally {
      await context.close()
    }
  })

  test('a forged form, a missing or tampered cookie and a signed-out session are refused', async () => {
    const { grantId, token } = await acceptedGrant()
    const context = await browser.newContext()
    const { page } = await openPage(context)
    const heading = async () => page.locator('h1').innerText()
    try {
      await signIn(page, server.tenantId, operatorSecret())
      await page.goto(`${server.adminUrl}/grants/${grantId}/revoke`)
      await page
        .locator('input[name=csrf]')
        .last()
        .evaluate((input) => input.setAttribute('value', 'forged'))
      await page.getByRole('button', { name: 'Confirm revoke' }).click()
      assert.equal(await heading(), 'Form not accepted')
      assert.equal(await active(token), true)

      const [session] = (await context.cookies()).filter((c) => c.name === 'opas_console')
      assert.ok(session)
      assert.equal(session.httpOnly, true)
      assert.equal(session.sameSite, 'Strict')
      const tampered = session.value.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
      await context.addCookies([{ ...session, value: tampered }])
      await page.goto(`${server.adminUrl}/grants`)
      assert.match(await page.locator('main').innerText(), /session cookie is not valid/)

      await context.clearCookies()
      await page.goto(`${server.adminUrl}/grants/${grantId}`)
      assert.match(await page.locator('main').innerText(), /Sign in to continue/)

      await signIn(page, server.tenantId, operatorSecret())
      const signedIn = (await context.cookies()).filter((c) => c.name === 'opas_console')
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByRole('button', { name: 'Sign in' }).waitFor()
      await context.addCookies(signedIn)
      await page.goto(`${server.adminUrl}/grants`)
      assert.match(await page.locator('main').innerText(), /Your session has ended/)
      assert.equal(await active(token), true)
    } finally {
      await context.close()
    }
  })
})
