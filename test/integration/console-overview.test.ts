import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { consoleClient } from '../helpers/console-client.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { addTenant } from '../helpers/tenants.js'
import type { TestServer } from '../helpers/test-server.js'
import { createGrantFlows, nonInteractiveGrantBody } from './support/grant-flows.js'

/**
 * The console's overview (issue 24, point 6): a tenant sees the last hour of its own grants,
 * rotations, introspections and refusals, and neither another tenant's nor the server's route
 * latencies; the operator sees the whole server's.
 */

let world: ServerWithClient
let tenant: TestServer & { apiSecret: string }

before(async () => {
  world = await startServerWithClient()
  tenant = await addTenant(world.server, {
    consentUrl: 'http://127.0.0.1:9/consent',
    secret: 'overview-test-idp-secret'
  })
  const account = `${world.wallets.url}/alice`
  const operatorFlows = createGrantFlows(world.server, world.app, account)
  const tenantFlows = createGrantFlows(tenant, world.app, account)
  for (let i = 0; i < 2; i++) await operatorFlows.requestNonInteractive()
  const { token } = await tenantFlows.requestNonInteractive()
  assert.equal((await tenantFlows.introspect(token.value)).active, true)
  // Unsigned, at the tenant's grant endpoint: refused, and the tenant is known.
  const refused = await fetch(tenant.grantUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(nonInteractiveGrantBody(world.app))
  })
  assert.equal(refused.status, 401)
  // Refused at an endpoint no tenant owns: the server's figure alone.
  const unknown = await fetch(`${world.server.services.config.authServerUrl}/not-a-tenant`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: '{}'
  })
  assert.ok(unknown.status >= 400)
})
after(() => world.close())

const total = (page: string, title: string) =>
  new RegExp(`<strong>${title}</strong> <span class="oc-total">([^<]*)</span>`).exec(page)?.[1]

/** The server started moments ago: its figures are counted from its start, which they say. */
const since = / since \d\d:\d\d, when the server started$/
const totalOf = (page: string, title: string) => {
  const text = total(page, title) ?? ''
  assert.match(text, since, title)
  return text.replace(since, '')
}

test("a tenant's overview shows its own figures only, and no route latency", async () => {
  const browser = consoleClient(world.server.adminUrl)
  assert.equal((await browser.signIn(tenant.tenantId, tenant.apiSecret)).status, 303)
  for (const path of ['/overview', '/overview/charts']) {
    const page = (await browser.get(path)).text
    assert.equal(totalOf(page, 'Grants issued'), '1', path)
    assert.equal(totalOf(page, 'Introspections'), '1 active, 0 inactive', path)
    assert.equal(totalOf(page, 'Refusals by reason'), '1', path)
    assert.ok(!page.includes('id="oc-p99"'), `${path}: no latency chart`)
    assert.ok(!/POST \/(tenant|:tenantId)/.test(page), `${path}: no route named`)
  }
  assert.match((await browser.get('/overview')).text, /your tenant's own figures/)
})

test("the operator's overview shows the whole server's, latency included", async () => {
  const browser = consoleClient(world.server.adminUrl)
  const operatorSecret = world.server.env.ADMIN_API_SECRET!
  assert.equal((await browser.signIn(world.server.tenantId, operatorSecret)).status, 303)
  const page = (await browser.get('/overview')).text
  assert.equal(totalOf(page, 'Grants issued'), '3')
  const refusals = Number(/^(\d+)/.exec(total(page, 'Refusals by reason') ?? '')?.[1])
  assert.ok(refusals >= 2, `both refusals counted: ${refusals}`)
  assert.ok(page.includes('id="oc-p99"'))
  assert.match(page, /auth POST \/:tenantId/)
})
