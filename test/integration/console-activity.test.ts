import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { NewEvent } from '../../src/audit/events.js'
import { adminCall } from '../helpers/admin-client.js'
import { consoleClient } from '../helpers/console-client.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { addTenant } from '../helpers/tenants.js'
import { createGrantFlows, type GrantFlows } from './support/grant-flows.js'

/**
 * The console's Activity page (issue 27): the audit trail, a tenant's own and the operator's
 * all, filtered by type, grant, wallet address and time, paged, escaped, and a filter it cannot
 * read answered 400 with a sentence; and the grant page's history naming who acted.
 */

let world: ServerWithClient
let flows: GrantFlows
let other: { tenantId: string; apiSecret: string }
const run = randomUUID().slice(0, 8)
const WALLET_A = `https://wallet.example/a-${run}`
const WALLET_B = `https://wallet.example/b-${run}`
const WALLET_PAGED = `https://wallet.example/paged-${run}`
const EVIL = `https://evil.example/${run}/<script>alert(1)</script>`
const GRANT_A = randomUUID()
const GRANT_B = randomUUID()

const operatorId = () => world.server.tenantId

async function record(events: NewEvent[]): Promise<void> {
  const { db, events: trail } = world.server.services
  for (const event of events) await trail.record(db, event)
}

/** Moves an event (by its request id) to a moment of its own, for the time filters. */
const setTime = (requestId: string, at: string) =>
  world.server.services.db.query('update events set at = $2 where request_id = $1', [requestId, at])

before(async () => {
  world = await startServerWithClient({
    SECRET_ATTEMPTS_PER_TENANT: '1000',
    SECRET_ATTEMPTS_PER_ADDRESS: '1000'
  })
  flows = createGrantFlows(world.server, world.app, `${world.wallets.url}/alice`)
  other = await addTenant(world.server, {
    consentUrl: 'http://127.0.0.1:9/other/consent',
    secret: 'other-tenant-idp-secret-long-enough'
  })
  await record([
    {
      type: 'grant.requested',
      tenantId: operatorId(),
      grantId: GRANT_A,
      client: WALLET_A,
      actor: { kind: 'client', walletAddress: WALLET_A },
      requestId: `${run}-a1`,
      remoteAddress: '192.0.2.1'
    },
    {
      type: 'grant.revoked',
      tenantId: operatorId(),
      grantId: GRANT_A,
      client: WALLET_A,
      actor: { kind: 'admin-api', tenantId: operatorId() },
      requestId: `${run}-a2`,
      remoteAddress: '192.0.2.2'
    },
    {
      type: 'grant.requested',
      tenantId: other.tenantId,
      grantId: GRANT_B,
      client: WALLET_B,
      actor: { kind: 'client', walletAddress: WALLET_B },
      requestId: `${run}-b1`
    },
    {
      type: 'tenant.updated',
      tenantId: other.tenantId,
      actor: { kind: 'service-api' },
      requestId: `${run}-b2`,
      details: {
        fields: ['idpConsentUrl'],
        cleared: ['idpSecret'],
        idpConsentUrl: `https://idp.example/<script>alert(2)</script>`
      }
    },
    {
      type: 'grant.requested',
      tenantId: other.tenantId,
      grantId: randomUUID(),
      client: EVIL,
      actor: { kind: 'client', walletAddress: EVIL },
      requestId: `${run}-b3`
    }
  ])
  await setTime(`${run}-a1`, '2001-01-01T10:00:00Z')
  await setTime(`${run}-a2`, '2001-01-02T10:00:00Z')
  await setTime(`${run}-b1`, '2001-01-03T10:00:00Z')
})
after(() => world.close())

async function signedIn(tenantId: string, apiSecret: string) {
  const browser = consoleClient(world.server.adminUrl)
  const res = await browser.signIn(tenantId, apiSecret)
  assert.equal(res.status, 303, res.text)
  return browser
}
const asOperator = () => signedIn(operatorId(), world.server.env.ADMIN_API_SECRET!)
const asOther = () => signedIn(other.tenantId, other.apiSecret)

/** The request ids of the events a page lists, in its order (this run's alone). */
const shown = (html: string): string[] =>
  [...html.matchAll(/Request <code>([^<]+)<\/code>/g)]
    .map((m) => m[1]!)
    .filter((id) => id.startsWith(run))
    .map((id) => id.slice(run.length + 1))

async function page(browser: ReturnType<typeof consoleClient>, query: string) {
  const res = await browser.get(`/activity${query}`)
  assert.equal(res.status, 200, res.text)
  return res.text
}

describe('whose events', () => {
  test('a tenant sees its own, even when it asks for another tenant', async () => {
    const browser = await asOther()
    const own = await page(browser, '')
    assert.match(own, /<a href="\/activity" aria-current="page">Activity<\/a>/)
    assert.match(own, /Your tenant's events/)
    assert.deepEqual(shown(own), ['b3', 'b2', 'b1'])
    assert.doesNotMatch(own, new RegExp(WALLET_A))
    for (const query of [
      `?tenant=${operatorId()}`,
      `?grant=${GRANT_A}`,
      `?wallet=${encodeURIComponent(WALLET_A)}`,
      '?tenant=not-even-a-uuid'
    ]) {
      const asked = await page(browser, query)
      assert.deepEqual(
        shown(asked).filter((id) => id.startsWith('a')),
        [],
        `${query}: never the operator's events`
      )
      assert.doesNotMatch(asked, /name="tenant"/, 'no tenant filter offered to a tenant')
    }
    // Its own sign-in is there, under its tenant; the operator's are not.
    assert.match(own, /Console sign-in/)
    assert.doesNotMatch(own, new RegExp(`console user \\(tenant ${operatorId()}\\)`))
  })

  test('the operator sees every tenant, and may narrow to one', async () => {
    const browser = await asOperator()
    const all = await page(browser, '')
    assert.match(all, /Every tenant's events/)
    assert.deepEqual(shown(all), ['b3', 'b2', 'b1', 'a2', 'a1'])
    assert.match(all, new RegExp(`Tenant <code>${other.tenantId}</code>`))
    const narrowed = await page(browser, `?tenant=${other.tenantId.toUpperCase()}`)
    assert.deepEqual(shown(narrowed), ['b3', 'b2', 'b1'])
  })
})

describe('filters', () => {
  test('type, group of types, grant, wallet address, since and until each narrow', async () => {
    const browser = await asOperator()
    const cases: [string, string[]][] = [
      ['?type=grant.revoked', ['a2']],
      ['?type=tenant', ['b2']],
      ['?type=grant', ['b3', 'b1', 'a2', 'a1']],
      [`?grant=${GRANT_A}`, ['a2', 'a1']],
      [`?wallet=${encodeURIComponent(WALLET_A)}`, ['a2', 'a1']],
      ['?since=2001-01-02&until=2001-01-03T10:00', ['a2']],
      ['?since=2001-01-01T10:00:01Z&until=2001-01-04', ['b1', 'a2']],
      ['?until=2001-01-01T12:00%2B01:00', ['a1']],
      ['?since=1h', ['b3', 'b2']],
      [`?type=grant.requested&wallet=${encodeURIComponent(WALLET_B)}`, ['b1']]
    ]
    for (const [query, expected] of cases) {
      assert.deepEqual(shown(await page(browser, query)), expected, query)
    }
    // The filters are shown again as typed.
    const again = await page(browser, `?type=grant.revoked&wallet=${encodeURIComponent(WALLET_A)}`)
    assert.match(again, /<option value="grant\.revoked" selected>Grant revoked<\/option>/)
    assert.match(again, new RegExp(`name="wallet" [^>]*value="${WALLET_A}"`))
  })

  test('a filter it cannot read: 400 with a sentence, the form again, never a 500', async () => {
    const browser = await asOperator()
    for (const [query, words] of [
      ['?type=grant.exploded', /Choose an event type from the list/],
      ['?grant=not-a-uuid', /The grant ID is not a UUID/],
      ['?wallet=' + 'x'.repeat(3000), /The wallet address is too long/],
      ['?since=yesterday', /"Since" takes a date and time in UTC/],
      ['?until=2026-02-30', /"Until" takes a date and time in UTC/],
      ['?since=2026-13-01T00:00', /"Since" takes/],
      ['?since=1969-12-31', /"Since" takes/],
      ['?since=2001-01-02&until=2001-01-01', /"Since" must be before "until"/],
      ['?tenant=nope', /The tenant ID is not a UUID/],
      ['?before=nope', /This page link is damaged/],
      ['?type=grant&type=tenant', /Give each filter once/]
    ] as const) {
      const res = await browser.get(`/activity${query}`)
      assert.equal(res.status, 400, `${query}: ${res.status}`)
      assert.match(res.text, /<p class="error" role="alert">/, query)
      assert.match(res.text.replaceAll('&quot;', '"'), words, query)
      assert.match(res.text, /<form class="search" method="get" action="\/activity"/)
    }
  })

  test('everything is escaped: a wallet address, a tenant field, a typed filter', async () => {
    const browser = await asOperator()
    const all = await page(browser, `?type=${encodeURIComponent('grant.requested')}`)
    assert.doesNotMatch(all, /<script>/)
    assert.ok(all.includes(`https://evil.example/${run}/&lt;script&gt;alert(1)&lt;/script&gt;`))
    const tenant = await page(browser, '?type=tenant.updated')
    assert.doesNotMatch(tenant, /<script>/)
    assert.match(
      tenant,
      /Set IdP consent URL to https:\/\/idp\.example\/&lt;script&gt;alert\(2\)&lt;\/script&gt;; removed IdP secret/
    )
    const refused = await browser.get(`/activity?grant=${encodeURIComponent('"><script>x')}`)
    assert.equal(refused.status, 400)
    assert.doesNotMatch(refused.text, /<script>/)
    assert.match(refused.text, /value="&quot;&gt;&lt;script&gt;x"/)
  })
})

test('pages of 50, newest first, by the before cursor', async () => {
  const events: NewEvent[] = Array.from({ length: 60 }, (_, n) => ({
    type: 'token.rotated',
    tenantId: operatorId(),
    client: WALLET_PAGED,
    actor: { kind: 'client', walletAddress: WALLET_PAGED },
    requestId: `${run}-p${String(n).padStart(2, '0')}`
  }))
  await record(events)
  await world.server.services.db.query(
    `update events set at = timestamptz '2002-01-01' + substr(request_id, 11)::int * interval '1 second'
     where client = $1`,
    [WALLET_PAGED]
  )
  const browser = await asOperator()
  const wallet = `?wallet=${encodeURIComponent(WALLET_PAGED)}`
  const first = await page(browser, wallet)
  const ids = (from: number, to: number) =>
    Array.from({ length: from - to + 1 }, (_, i) => `p${String(from - i).padStart(2, '0')}`)
  assert.deepEqual(shown(first), ids(59, 10))
  assert.doesNotMatch(first, /Newest events/)
  const older = /<a href="([^"]+)">Older events<\/a>/.exec(first)?.[1]
  assert.ok(older, 'a link to the older page')
  const second = await browser.get(older.replaceAll('&amp;', '&'))
  assert.equal(second.status, 200)
  assert.deepEqual(shown(second.text), ids(9, 0))
  assert.doesNotMatch(second.text, /Older events/)
  assert.match(second.text, /<a href="\/activity\?wallet=[^"]+">Newest events<\/a>/)
})

describe("the grant page's history says who acted", () => {
  const REVOKE = `mutation Revoke($input: RevokeGrantInput!) { revokeGrant(input: $input) { id } }`

  async function issuedGrantId(): Promise<string> {
    const { token } = await flows.requestNonInteractive()
    return (await flows.introspect(token.value)).grant!
  }

  async function history(grantId: string): Promise<string> {
    const res = await (await asOperator()).get(`/grants/${grantId}`)
    assert.equal(res.status, 200, res.text)
    const section = /<h2>History<\/h2>([\s\S]*?)<h2>Tokens<\/h2>/.exec(res.text)?.[1]
    assert.ok(section, 'a history section')
    return section
  }

  const address = String.raw`(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)`

  test('revoked through the admin API', async () => {
    const grantId = await issuedGrantId()
    const res = await adminCall(
      `${world.server.adminUrl}/graphql`,
      { id: operatorId(), apiSecret: world.server.env.ADMIN_API_SECRET! },
      { query: REVOKE, variables: { input: { grantId } } }
    )
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.match(
      await history(grantId),
      new RegExp(`Revoked by operator via admin API \\(tenant ${operatorId()}\\) from ${address}`)
    )
  })

  test('revoked at the console', async () => {
    const grantId = await issuedGrantId()
    const browser = await asOperator()
    const res = await browser.post(`/grants/${grantId}/revoke`, {
      csrf: await browser.formToken()
    })
    assert.equal(res.status, 303, res.text)
    const told = await history(grantId)
    assert.match(
      told,
      new RegExp(`Revoked by console user \\(tenant ${operatorId()}\\) from ${address}`)
    )
    assert.match(told, new RegExp(`href="/activity\\?grant=${grantId}"`))
  })

  test("cancelled by the client's DELETE", async () => {
    const pending = await flows.requestInteractive()
    const grantId = await flows.grantIdOf(await flows.startInteraction(pending.redirect))
    assert.equal((await flows.cancelGrant(pending)).status, 204)
    assert.match(
      await history(grantId),
      new RegExp(`Revoked by the client ${world.app.walletAddress} from ${address}`)
    )
  })

  test('a grant with no events tells its story from its interaction', async () => {
    const grantId = await issuedGrantId()
    await world.server.services.db.query('delete from events where grant_id = $1', [grantId])
    assert.match(await history(grantId), /No events were recorded for this grant/)
  })
})
