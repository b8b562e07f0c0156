import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { isFinalizedGrant } from '@interledger/open-payments'
import {
  importRafiki,
  type ImportOptions,
  type ImportReport
} from '../../src/rafiki-import/rafiki-import.js'
import type { Db } from '../../src/storage/db.js'
import { adminCall } from '../helpers/admin-client.js'
import { assertTokenActive } from '../helpers/gnap-assertions.js'
import {
  insertRafiki,
  insertRafikiGrant,
  insertRafikiToken,
  startImportWorld,
  type ImportWorld
} from '../helpers/rafiki-source.js'
import { sdkClientFor } from '../helpers/sdk-client.js'
import { postJson, send } from '../helpers/signed-request.js'
import type { TestServer } from '../helpers/test-server.js'
import type { TestClient, WalletAddressServer } from '../helpers/wallet-address-server.js'

/**
 * Issue 25: a Rafiki auth database holding every kind of row Rafiki writes (non-interactive and
 * interactive grants in each state, rotated, revoked and expired tokens, subjects, a JWK client,
 * several tenants, one deleted), imported into a running opas, which then answers for each as
 * Rafiki did: the admin API lists the grants field by field as Rafiki lists them, introspection
 * answers for imported tokens exactly as for opas's own, and an interrupted import resumes.
 */

let world: ImportWorld
let source: Db
let server: TestServer
let wallets: WalletAddressServer
let app: TestClient

const tenant = { id: randomUUID(), apiSecret: `api-secret-of-the-live-tenant-${randomUUID()}` }
const gone = { id: randomUUID(), apiSecret: `api-secret-of-the-deleted-one-${randomUUID()}` }
const hour = 3_600_000
const ago = (ms: number) => new Date(Date.now() - ms)

/** The rows, named by what they are; filled in `fill`. */
const rows = {
  issued: '',
  jwk: '',
  withSubjects: '',
  approved: { grant: '', continueId: '', continueToken: '', ref: randomUUID() },
  rejected: { grant: '', continueId: '', continueToken: '', ref: randomUUID() },
  revokedGrant: '',
  expiredInteraction: { id: randomUUID(), nonce: randomUUID() },
  goneGrant: ''
}
const tokens: Record<string, { value: string; managementId: string }> = {}

const limits = {
  receiver: 'https://wallet.example/incoming-payments/0b4f5d2e-6a0b-4a8e-9b55-3c2e4a6b7c8d',
  debitAmount: { value: '1500', assetCode: 'USD', assetScale: 2 },
  interval: 'R/2026-01-01T00:00:00Z/P1M'
}

async function fill(db: Db): Promise<void> {
  for (const t of [tenant, gone]) {
    await insertRafiki(db, 'tenants', {
      id: t.id,
      idpConsentUrl: 'http://127.0.0.1:9/consent',
      idpSecret: `rafiki-idp-secret-${t.id}`,
      apiSecret: t.apiSecret,
      createdAt: ago(30 * 24 * hour),
      deletedAt: t === gone ? ago(24 * hour) : null
    })
  }
  const access = (grantId: string, createdAt: Date, fields: Record<string, unknown> = {}) =>
    insertRafiki(db, 'accesses', {
      id: randomUUID(),
      type: 'incoming-payment',
      actions: ['create', 'read', 'list'],
      identifier: `${wallets.url}/alice`,
      grantId,
      createdAt,
      ...fields
    })
  const grant = async (createdAt: Date, fields: Record<string, unknown> = {}) => {
    const g = await insertRafikiGrant(db, {
      tenantId: tenant.id,
      client: app.walletAddress,
      createdAt,
      updatedAt: createdAt,
      lastContinuedAt: createdAt,
      ...fields
    })
    return g
  }

  // Non-interactive, issued: a token rotated once (Rafiki revokes the old one), one expired.
  const issued = await grant(ago(10 * hour))
  rows.issued = issued.id
  await access(issued.id, ago(10 * hour))
  tokens.rotatedAway = await insertRafikiToken(db, {
    grantId: issued.id,
    createdAt: ago(10 * hour),
    revokedAt: ago(9 * hour)
  })
  tokens.live = await insertRafikiToken(db, {
    grantId: issued.id,
    createdAt: ago(9 * hour),
    expiresIn: 86_400
  })
  tokens.expired = await insertRafikiToken(db, { grantId: issued.id, createdAt: ago(2 * hour) })
  // Live, last touched a day ago: revoked in Rafiki between two runs (by the delta test).
  tokens.revokedLater = await insertRafikiToken(db, {
    grantId: issued.id,
    createdAt: ago(24 * hour),
    updatedAt: ago(24 * hour),
    expiresIn: 7 * 86_400
  })

  // A directed-identity client: a JWK and no wallet address.
  const jwk = await grant(ago(9 * hour), { client: null, jwk: app.publicJwk })
  rows.jwk = jwk.id
  await access(jwk.id, ago(9 * hour))
  tokens.jwk = await insertRafikiToken(db, { grantId: jwk.id })

  // Subjects, and two access items whose order is their creation's.
  const withSubjects = await grant(ago(8 * hour))
  rows.withSubjects = withSubjects.id
  await access(withSubjects.id, ago(8 * hour), {
    type: 'outgoing-payment',
    actions: ['create', 'read'],
    limits
  })
  await access(withSubjects.id, new Date(ago(8 * hour).getTime() + 1))
  for (const [i, subId] of [`${wallets.url}/alice`, `${wallets.url}/bob`].entries()) {
    await insertRafiki(db, 'subjects', {
      id: randomUUID(),
      grantId: withSubjects.id,
      subId,
      subIdFormat: 'uri',
      createdAt: new Date(ago(8 * hour).getTime() + i)
    })
  }

  // Interactive grants in each state the interaction leaves them.
  const interactive = async (
    state: string,
    finalizationReason: string | null,
    interactionState: string,
    ref: string,
    createdAt: Date
  ) => {
    const g = await grant(createdAt, {
      state,
      finalizationReason,
      startMethod: ['redirect'],
      finishMethod: 'redirect',
      finishUri: 'https://app.example/finish',
      clientNonce: randomUUID()
    })
    await access(g.id, createdAt, {
      type: 'outgoing-payment',
      actions: ['create', 'read'],
      limits: { debitAmount: limits.debitAmount }
    })
    await insertRafiki(db, 'interactions', {
      id: randomUUID(),
      ref,
      nonce: randomUUID(),
      state: interactionState,
      grantId: g.id,
      expiresIn: 600,
      createdAt
    })
    return g
  }
  const approved = await interactive('APPROVED', null, 'APPROVED', rows.approved.ref, ago(60_000))
  Object.assign(rows.approved, { grant: approved.id, ...approved })
  const rejected = await interactive(
    'FINALIZED',
    'REJECTED',
    'DENIED',
    rows.rejected.ref,
    ago(7 * hour)
  )
  Object.assign(rows.rejected, { grant: rejected.id, ...rejected })

  // Revoked by the account holder: its token, never revoked itself, is dead with it.
  const revoked = await grant(ago(6 * hour), { finalizationReason: 'REVOKED' })
  rows.revokedGrant = revoked.id
  await access(revoked.id, ago(6 * hour))
  tokens.ofRevokedGrant = await insertRafikiToken(db, { grantId: revoked.id })

  // A pending grant whose interaction expired an hour ago.
  const expired = await grant(ago(2 * hour), {
    state: 'PENDING',
    finalizationReason: null,
    startMethod: ['redirect'],
    finishMethod: 'redirect',
    finishUri: 'https://app.example/finish',
    clientNonce: randomUUID()
  })
  await access(expired.id, ago(2 * hour))
  await insertRafiki(db, 'interactions', {
    ...rows.expiredInteraction,
    ref: randomUUID(),
    state: 'PENDING',
    grantId: expired.id,
    expiresIn: 600,
    createdAt: ago(2 * hour)
  })

  // The deleted tenant's grant and live token.
  const goneGrant = await grant(ago(5 * hour), { tenantId: gone.id })
  rows.goneGrant = goneGrant.id
  await access(goneGrant.id, ago(5 * hour))
  tokens.ofDeletedTenant = await insertRafikiToken(db, { grantId: goneGrant.id })
}

let report: ImportReport
let options: ImportOptions

before(async () => {
  world = await startImportWorld()
  ;({ source, server, wallets, app } = world)
  await fill(source)

  // The first run is stopped after its first batch of grants, as Ctrl-C would stop it.
  options = { ...world.importOptions('rafiki-states'), batchSize: 3 }
  await assert.rejects(
    importRafiki({
      ...options,
      onProgress: (table) => {
        if (table === 'grants') throw new Error('stopped')
      }
    }),
    /stopped/
  )
  report = await importRafiki(options)
})
after(() => world?.close())

const asTenant = (t: { id: string; apiSecret: string }, body: object) =>
  adminCall(`${server.adminUrl}/graphql`, t, body)
const introspect = async (value: string) =>
  (await postJson(`${server.introspectionUrl}/`, { access_token: value })).body
const introspectActive = async (value: string) =>
  ((await introspect(value)) as { active: boolean }).active

test('a stopped run resumes after its last batch, and the two together import everything once', async () => {
  assert.equal(report.resumed?.phase, 'grants')
  assert.equal(report.tables.tenants.read, 0, 'the tenants were done before it stopped')
  const { rows: all } = await source.query<{ n: number }>('select count(*)::int as n from grants')
  assert.equal(report.tables.grants.read, all[0]!.n - 3, 'the first batch is not read again')
  assert.deepEqual(report.skipped, [])
  for (const table of ['grants', 'accesses', 'subjects', 'access_tokens', 'interactions']) {
    const rafikiTable = { access_tokens: 'accessTokens' }[table] ?? table
    const [inRafiki, inOpas] = await Promise.all([
      source.query<{ n: number }>(`select count(*)::int as n from "${rafikiTable}"`),
      server.services.db.query<{ n: number }>(`select count(*)::int as n from ${table}`)
    ])
    assert.equal(inOpas.rows[0]!.n, inRafiki.rows[0]!.n, table)
  }
  const again = await importRafiki({ ...options, batchSize: undefined })
  assert.equal(again.resumed, undefined, 'a finished run is not resumed')
  assert.equal(again.tables.grants.present, again.tables.grants.read)
})

test('the run after a finished one reads only what Rafiki changed since, revocations included; --full reads all', async () => {
  assert.equal(await introspectActive(tokens.revokedLater!.value), true)
  // In Rafiki meanwhile, as Rafiki writes it (its BaseModel stamps updatedAt): a revocation,
  // and a new grant.
  await source.query(
    `update "accessTokens" set "revokedAt" = now(), "updatedAt" = now() where "managementId" = $1`,
    [tokens.revokedLater!.managementId]
  )
  const late = await insertRafikiGrant(source, { tenantId: tenant.id, client: app.walletAddress })

  const delta = await importRafiki({ ...options, batchSize: undefined })
  assert.ok(delta.since, 'it read from a moment on')
  const { rows: changed } = await source.query<{ n: number }>(
    'select count(*)::int as n from grants where "updatedAt" >= $1',
    [delta.since]
  )
  const { rows: all } = await source.query<{ n: number }>('select count(*)::int as n from grants')
  assert.ok(changed[0]!.n < all[0]!.n, 'the fixture has grants last changed long before')
  assert.equal(delta.tables.grants.read, changed[0]!.n)
  assert.equal(delta.tables.grants.imported, 1)
  assert.equal(delta.tables.accessTokens.advanced, 1)
  assert.equal(await introspectActive(tokens.revokedLater!.value), false, 'revoked in opas too')
  const { rows: lateRow } = await server.services.db.query('select 1 from grants where id = $1', [
    late.id
  ])
  assert.equal(lateRow.length, 1)

  const full = await importRafiki({ ...options, batchSize: undefined, full: true })
  assert.equal(full.since, null)
  assert.equal(full.tables.grants.read, all[0]!.n)
  assert.equal(full.tables.grants.present, all[0]!.n, 'nothing new, nothing moved forward')
})

test("the admin API lists the imported grants field by field as Rafiki's lists them", async () => {
  const query = {
    query: `{ grants(first: 20) { edges { node {
      id client state finalizationReason createdAt tenantId
      access { id identifier type actions createdAt
        limits { receiver interval debitAmount { value assetCode assetScale }
          receiveAmount { value assetCode assetScale } } }
    } } } }`
  }
  const res = await asTenant(tenant, query)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  const listed = (
    res.body as { data: { grants: { edges: { node: unknown }[] } } }
  ).data.grants.edges.map((e) => e.node)

  // What Rafiki's grantToGraphql makes of its rows: newest first, access items as stored.
  const { rows: grants } = await source.query<
    Record<string, unknown> & { id: string; createdAt: Date }
  >(`select * from grants where "tenantId" = $1 order by "createdAt" desc, id desc`, [tenant.id])
  const expected = []
  for (const g of grants) {
    const { rows: access } = await source.query<Record<string, unknown> & { createdAt: Date }>(
      `select * from accesses where "grantId" = $1 order by "createdAt", id`,
      [g.id]
    )
    expected.push({
      id: g.id,
      client: g.client,
      state: g.state,
      finalizationReason: g.finalizationReason,
      createdAt: g.createdAt.toISOString(),
      tenantId: g.tenantId,
      access: access.map((a) => ({
        id: a.id,
        identifier: a.identifier,
        type: a.type,
        actions: a.actions,
        createdAt: a.createdAt.toISOString(),
        limits:
          a.limits === null
            ? null
            : {
                receiver: null,
                interval: null,
                receiveAmount: null,
                debitAmount: null,
                ...(a.limits as object)
              }
      }))
    })
  }
  assert.ok(expected.length >= 7, 'every kind of grant is listed')
  assert.deepEqual(listed, expected)
})

test("the subjects a grant asked for are kept, in Rafiki's order", async () => {
  const query = {
    query: `query ($id: ID!) { grant(id: $id) { subject { sub_ids { subId subIdFormat } } } }`,
    variables: { id: rows.withSubjects }
  }
  const res = await asTenant(tenant, query)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  assert.deepEqual((res.body as { data: { grant: unknown } }).data.grant, {
    subject: {
      sub_ids: [
        { subId: `${wallets.url}/alice`, subIdFormat: 'uri' },
        { subId: `${wallets.url}/bob`, subIdFormat: 'uri' }
      ]
    }
  })
})

test("introspection answers for an imported token exactly as for opas's own", async () => {
  const client = await sdkClientFor(app)
  const own = await client.grant.request(
    { url: server.grantUrl },
    {
      access_token: {
        access: [
          {
            type: 'incoming-payment',
            actions: ['create', 'read', 'list'],
            identifier: `${wallets.url}/alice`
          }
        ]
      }
    }
  )
  assert.ok(isFinalizedGrant(own) && own.access_token)
  const ownAnswer = (await assertTokenActive(server, own.access_token.value)) as Record<
    string,
    unknown
  >
  const imported = (await assertTokenActive(server, tokens.live!.value)) as Record<string, unknown>
  // Rafiki's fields, and RFC 9767's by kind: the times and the grant endpoint are each token's
  // own, and Rafiki never recorded the key that signed a grant request, so an imported wallet
  // client's token has no `key` (a JWK client's is its JWK, below).
  const withoutIds = ({ iat, exp, iss, key: _key, ...answer }: Record<string, unknown>) => ({
    ...answer,
    times: typeof iat === 'number' && typeof exp === 'number' && exp > iat,
    iss: typeof iss,
    grant: typeof answer.grant,
    access: (answer.access as Record<string, unknown>[]).map(({ id, ...item }) => ({
      ...item,
      id: typeof id
    }))
  })
  assert.deepEqual(withoutIds(imported), withoutIds(ownAnswer))
  assert.equal(imported.grant, rows.issued)
  assert.ok(ownAnswer.key !== undefined && !('key' in imported))

  // The JWK client's token, too, bound to its JWK.
  const jwkAnswer = (await assertTokenActive(server, tokens.jwk!.value)) as Record<string, unknown>
  assert.equal(jwkAnswer.grant, rows.jwk)
  const jwk = (jwkAnswer.client as { jwk: unknown }).jwk
  assert.deepEqual(jwkAnswer.key, { proof: 'httpsig', jwk })
})

test('rotated, expired, revoked-grant and deleted-tenant tokens introspect inactive', async () => {
  for (const name of ['rotatedAway', 'expired', 'ofRevokedGrant', 'ofDeletedTenant']) {
    assert.deepEqual(await introspect(tokens[name]!.value), { active: false }, name)
  }
})

test('an approved interactive grant continues with its interaction ref; a rejected one is refused', async () => {
  const client = await sdkClientFor(app)
  const continued = await client.grant.continue(
    {
      url: `${server.authUrl}/continue/${rows.approved.continueId}`,
      accessToken: rows.approved.continueToken
    },
    { interact_ref: rows.approved.ref }
  )
  assert.ok(isFinalizedGrant(continued) && continued.access_token)
  await assertTokenActive(server, continued.access_token.value)

  await assert.rejects(
    client.grant.continue(
      {
        url: `${server.authUrl}/continue/${rows.rejected.continueId}`,
        accessToken: rows.rejected.continueToken
      },
      { interact_ref: rows.rejected.ref }
    ),
    (err: { status?: number }) => err.status === 401 || err.status === 400 || err.status === 404
  )
})

test('a grant that moved on in opas is not moved back by a run again', async () => {
  // Continued above: FINALIZED (ISSUED) in opas, still APPROVED in Rafiki.
  const stateOf = async () =>
    (
      await server.services.db.query<{ state: string }>('select state from grants where id = $1', [
        rows.approved.grant
      ])
    ).rows[0]?.state
  assert.equal(await stateOf(), 'FINALIZED')
  const again = await importRafiki({ ...options, batchSize: undefined, full: true })
  assert.ok(again.tables.grants.present > 0)
  assert.equal(await stateOf(), 'FINALIZED')
})

test('an interaction link that expired in Rafiki says so: a page to a browser, the finish redirect to others', async () => {
  const link = `${server.authUrl}/interact/${rows.expiredInteraction.id}/${rows.expiredInteraction.nonce}`
  const page = await send(link, { headers: { accept: 'text/html' } })
  assert.equal(page.status, 403, page.text)
  assert.match(page.text, /This link has expired/)
  // As Rafiki answers a caller that is not a browser: back to the finish URI, saying so.
  const res = await send(link, {})
  assert.equal(res.status, 302, res.text)
  const back = new URL(res.headers.get('location')!)
  assert.equal(back.origin + back.pathname, 'https://app.example/finish')
  assert.equal(back.searchParams.get('result'), 'invalid_interaction')
  assert.equal(back.searchParams.get('message'), 'interaction expired')
})

test("the deleted tenant's API secret signs nothing after the import", async () => {
  const query = { query: '{ grants(first: 1) { edges { node { id } } } }' }
  const res = await asTenant(gone, query)
  assert.equal(res.status, 401, JSON.stringify(res.body))
  const { rows: kept } = await server.services.db.query<{ deleted_at: Date | null }>(
    'select deleted_at from tenants where id = $1',
    [gone.id]
  )
  assert.ok(kept[0]?.deleted_at, 'the deletion is kept')
})

test('a second import from the same Rafiki database while one runs is refused, naming it', async () => {
  // The first run waits at its first read from Rafiki until the second has been refused.
  let reached!: () => void
  let release!: () => void
  const atFirstRead = new Promise<void>((resolve) => (reached = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  const paused: Db = Object.create(source) as Db
  paused.transaction = (fn) =>
    source.transaction((tx) =>
      fn({
        exec: (sql) => tx.exec(sql),
        query: async (sql, params) => {
          if (sql.startsWith('fetch')) {
            reached()
            await released
          }
          return tx.query(sql, params)
        }
      })
    )
  const first = importRafiki({ ...options, source: paused, dryRun: true })
  await atFirstRead
  await assert.rejects(
    importRafiki(options),
    /another opas import from rafiki-states is running; wait for it to end/
  )
  release()
  assert.equal((await first).dryRun, true)
  // Once it has ended, the next run goes ahead.
  assert.equal((await importRafiki(options)).tables.grants.skipped, 0)
})
