import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { importRafiki } from '../../src/rafiki-import/rafiki-import.js'
import type { Db } from '../../src/storage/db.js'
import { hashToken } from '../../src/token/token-value.js'
import { computeInteractHash } from '../../src/interaction/finish-hash.js'
import { adminCall } from '../helpers/admin-client.js'
import { assertTokenActive } from '../helpers/gnap-assertions.js'
import { driveInteraction } from '../helpers/interaction-driver.js'
import { sdkClientFor } from '../helpers/sdk-client.js'
import { postJson } from '../helpers/signed-request.js'
import {
  insertRafikiGrant,
  insertRafikiToken,
  rafikiToken,
  startImportWorld,
  type ImportWorld
} from '../helpers/rafiki-source.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'

/**
 * Issue 25: a Rafiki auth database, filled as Rafiki writes it, imported into a running opas:
 * every token a client holds keeps working at the URL Rafiki gave it, and no usable token value
 * reaches opas's database.
 */

let world: ImportWorld
let source: Db
let server: TestServer
let wallets: WalletAddressServer
let app: TestClient

const tenantA = randomUUID()
const tenantB = randomUUID()
const deletedTenant = randomUUID()
const liveToken = { value: rafikiToken(), managementId: randomUUID(), grantId: randomUUID() }
const revokedToken = { value: rafikiToken(), managementId: randomUUID() }
const otherToken = { value: rafikiToken(), managementId: randomUUID() }
const badGrant = randomUUID()

/** A report's line for one table. */
const counts = (
  read: number,
  imported: number,
  advanced: number,
  present: number,
  skipped: number
) => ({
  read,
  imported,
  advanced,
  present,
  skipped
})

/** A finalized (issued) grant of the test's app, as Rafiki writes it. */
const insertGrant = (
  db: Db,
  g: { id: string; tenantId: string; continueId?: string; continueToken?: string }
) => insertRafikiGrant(db, { ...g, client: app.walletAddress })

/** An access token as Rafiki writes it, live for 600 s unless revoked. */
const insertToken = (
  db: Db,
  t: { grantId: string; value: string; managementId: string; revoked?: boolean }
) =>
  insertRafikiToken(db, {
    grantId: t.grantId,
    value: t.value,
    managementId: t.managementId,
    revokedAt: t.revoked ? new Date() : null
  })

async function fill(db: Db): Promise<void> {
  const tenant = (id: string, apiSecret: string, deletedAt: string | null) =>
    db.query(
      `insert into "tenants" ("id", "idpConsentUrl", "idpSecret", "apiSecret", "deletedAt")
       values ($1::uuid, 'http://127.0.0.1:9/consent', 'rafiki-idp-secret-of-' || $1::text, $2, $3)`,
      [id, apiSecret, deletedAt]
    )
  await tenant(tenantA, `api-secret-of-tenant-a-${tenantA}`, null)
  await tenant(tenantB, `api-secret-of-tenant-b-${tenantB}`, null)
  await tenant(deletedTenant, `api-secret-deleted-${deletedTenant}`, '2026-01-01T00:00:00Z')
  await insertGrant(db, { id: liveToken.grantId, tenantId: tenantA })
  await db.query(
    `insert into "accesses" ("id", "type", "actions", "identifier", "grantId")
     values ($1, 'incoming-payment', '{create,read,list}', $2, $3)`,
    [randomUUID(), `${wallets.url}/alice`, liveToken.grantId]
  )
  await insertToken(db, liveToken)
  await insertToken(db, { ...otherToken, grantId: liveToken.grantId })
  const revokedGrant = randomUUID()
  await insertGrant(db, { id: revokedGrant, tenantId: tenantB })
  await insertToken(db, { ...revokedToken, grantId: revokedGrant, revoked: true })
  // A grant opas cannot hold: its continueId is not a UUID. Its token is left behind with it.
  await insertGrant(db, { id: badGrant, tenantId: tenantB, continueId: 'not-a-uuid' })
  await insertToken(db, {
    grantId: badGrant,
    value: rafikiToken(),
    managementId: randomUUID()
  })
}

before(async () => {
  world = await startImportWorld()
  ;({ source, server, wallets, app } = world)
  await fill(source)
})
after(() => world?.close())

const importInto = (dryRun: boolean) =>
  importRafiki({ ...world.importOptions('rafiki-under-test'), dryRun, batchSize: 2 })

test('a dry run reports what it would import and changes nothing', async () => {
  const report = await importInto(true)
  assert.equal(report.dryRun, true)
  assert.deepEqual(report.tables.tenants, counts(3, 3, 0, 0, 0))
  assert.deepEqual(report.tables.grants, counts(3, 2, 0, 0, 1))
  assert.deepEqual(report.tables.accessTokens, counts(4, 3, 0, 0, 1))
  const { rows } = await server.services.db.query('select 1 from grants where id = $1', [
    liveToken.grantId
  ])
  assert.equal(rows.length, 0)
})

test('imported: the official SDK rotates a Rafiki token at its Rafiki manage URL', async () => {
  const report = await importInto(false)
  assert.deepEqual(report.tables.grants, counts(3, 2, 0, 0, 1))
  assert.deepEqual(
    report.skipped.map((s) => [s.table, s.reason]),
    [
      ['grants', 'its continueId is not a UUID'],
      ['accessTokens', `its grant ${badGrant} was skipped`]
    ]
  )
  // No token value Rafiki held is in opas's database: the token is stored as its SHA-256 alone.
  const stored = await server.services.db.query<{ value_hash: Buffer }>(
    'select value_hash from access_tokens where management_id = $1',
    [liveToken.managementId]
  )
  assert.deepEqual(stored.rows[0]?.value_hash, hashToken(liveToken.value))
  const plain = await server.services.db.query(
    `select 1 from access_tokens where position(convert_to($1, 'UTF8') in value_hash) > 0
     union all select 1 from grants where position(convert_to($1, 'UTF8') in continue_token_hash) > 0`,
    [liveToken.value]
  )
  assert.equal(plain.rows.length, 0)

  // Introspection answers for the imported token as for opas's own.
  const active = await assertTokenActive(server, liveToken.value)
  assert.equal(active.grant, liveToken.grantId)
  const revoked = await postJson(`${server.introspectionUrl}/`, {
    access_token: revokedToken.value
  })
  assert.deepEqual(revoked.body, { active: false })

  const client = await sdkClientFor(app)
  const rotated = await client.token.rotate({
    url: `${server.authUrl}/token/${liveToken.managementId}`,
    accessToken: liveToken.value
  })
  assert.notEqual(rotated.access_token.value, liveToken.value)
  await assertTokenActive(server, rotated.access_token.value)
  const old = await postJson(`${server.introspectionUrl}/`, { access_token: liveToken.value })
  assert.deepEqual(old.body, { active: false }, 'the Rafiki value is dead once rotated')
})

test("each imported tenant's API secret signs its admin API calls, and it sees only its grants", async () => {
  const query = { query: '{ grants(first: 10) { edges { node { id } } } }' }
  const grantsOf = async (tenantId: string, secret: string) => {
    const res = await adminCall(
      `${server.adminUrl}/graphql`,
      { id: tenantId, apiSecret: secret },
      query
    )
    assert.equal(res.status, 200, JSON.stringify(res.body))
    return (
      res.body as { data: { grants: { edges: { node: { id: string } }[] } } }
    ).data.grants.edges.map((e) => e.node.id)
  }
  assert.deepEqual(await grantsOf(tenantA, `api-secret-of-tenant-a-${tenantA}`), [
    liveToken.grantId
  ])
  assert.equal((await grantsOf(tenantB, `api-secret-of-tenant-b-${tenantB}`)).length, 1)
})

test('a second run brings what changed in Rafiki since, and undoes nothing opas did', async () => {
  // Meanwhile in Rafiki: the other live token is revoked, and a new grant is issued.
  await source.query(`update "accessTokens" set "revokedAt" = now() where "managementId" = $1`, [
    otherToken.managementId
  ])
  const lateGrant = randomUUID()
  const lateToken = rafikiToken()
  await insertGrant(source, { id: lateGrant, tenantId: tenantA })
  await insertToken(source, {
    grantId: lateGrant,
    value: lateToken,
    managementId: randomUUID()
  })
  await assertTokenActive(server, otherToken.value)

  const report = await importInto(false)
  assert.deepEqual(report.tables.grants, counts(4, 1, 0, 2, 1))
  assert.deepEqual(report.tables.accessTokens, counts(5, 1, 1, 2, 1))
  await assertTokenActive(server, lateToken)
  const revoked = await postJson(`${server.introspectionUrl}/`, { access_token: otherToken.value })
  assert.deepEqual(revoked.body, { active: false }, 'revoked in Rafiki, revoked in opas')
  // Rotated in opas before this run: the Rafiki value Rafiki still holds as live stays dead.
  const old = await postJson(`${server.introspectionUrl}/`, { access_token: liveToken.value })
  assert.deepEqual(old.body, { active: false })
})

test("a grant pending in Rafiki goes through the IdP in opas, finishes with Rafiki's hash and continues", async () => {
  const grantId = randomUUID()
  const continueId = randomUUID()
  const continueToken = rafikiToken()
  const interaction = { id: randomUUID(), nonce: randomUUID(), ref: randomUUID() }
  await source.query(
    `insert into "grants" ("id", "state", "startMethod", "continueToken", "continueId",
       "finishMethod", "finishUri", "clientNonce", "client", "tenantId")
     values ($1, 'PENDING', '{redirect}', $2, $3, 'redirect', 'https://app.example/finish',
       'the-clients-nonce', $4, $5)`,
    [grantId, continueToken, continueId, app.walletAddress, tenantB]
  )
  await source.query(
    `insert into "accesses" ("id", "type", "actions", "identifier", "limits", "grantId")
     values ($1, 'outgoing-payment', '{create,read}', $2, $3, $4)`,
    [
      randomUUID(),
      `${wallets.url}/bob`,
      JSON.stringify({ debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 } }),
      grantId
    ]
  )
  await source.query(
    `insert into "interactions" ("id", "ref", "nonce", "state", "grantId", "expiresIn")
     values ($1, $2, $3, 'PENDING', $4, 600)`,
    [interaction.id, interaction.ref, interaction.nonce, grantId]
  )
  const report = await importInto(false)
  assert.equal(report.tables.interactions.imported, 1)

  // The link Rafiki gave the client, opened in opas; the tenant's IdP with Rafiki's secret.
  const { finish } = await driveInteraction(
    { ...server, idpSecret: `rafiki-idp-secret-of-${tenantB}` },
    `${server.authUrl}/interact/${interaction.id}/${interaction.nonce}`,
    'accept'
  )
  assert.equal(finish.status, 302, finish.text)
  const back = new URL(finish.headers.get('location')!)
  assert.equal(back.origin + back.pathname, 'https://app.example/finish')
  assert.equal(back.searchParams.get('interact_ref'), interaction.ref)
  assert.equal(
    back.searchParams.get('hash'),
    computeInteractHash({
      clientNonce: 'the-clients-nonce',
      interactNonce: interaction.nonce,
      interactRef: interaction.ref,
      grantUri: `${server.services.config.authServerUrl}/${tenantB}`
    })
  )
  const client = await sdkClientFor(app)
  const continued = await client.grant.continue(
    { url: `${server.authUrl}/continue/${continueId}`, accessToken: continueToken },
    { interact_ref: interaction.ref }
  )
  assert.ok('access_token' in continued && continued.access_token)
  await assertTokenActive(server, continued.access_token.value)
})

test('an imported token is revoked at its Rafiki manage URL, an imported grant cancelled at its continue URL', async () => {
  const grantId = randomUUID()
  const continueId = randomUUID()
  const continueToken = rafikiToken()
  const tokens = [0, 1].map(() => ({ value: rafikiToken(), managementId: randomUUID() }))
  await insertGrant(source, { id: grantId, tenantId: tenantA, continueId, continueToken })
  for (const token of tokens) await insertToken(source, { ...token, grantId })
  await importInto(false)
  const client = await sdkClientFor(app)
  await client.token.revoke({
    url: `${server.authUrl}/token/${tokens[0]!.managementId}`,
    accessToken: tokens[0]!.value
  })
  const revoked = await postJson(`${server.introspectionUrl}/`, { access_token: tokens[0]!.value })
  assert.deepEqual(revoked.body, { active: false })
  await assertTokenActive(server, tokens[1]!.value)
  await client.grant.cancel({
    url: `${server.authUrl}/continue/${continueId}`,
    accessToken: continueToken
  })
  const cancelled = await postJson(`${server.introspectionUrl}/`, {
    access_token: tokens[1]!.value
  })
  assert.deepEqual(cancelled.body, { active: false })
})
