import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Db } from '../../src/storage/db.js'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import { createGrantFlows, type GrantFlows, type IssuedToken } from './support/grant-flows.js'

/**
 * The retention job (DATABASE_CLEANUP_WORKERS, CLEANUP_INTERVAL_SECONDS,
 * ACCESS_TOKEN_DELETION_DAYS, PENDING_GRANT_DELETION_DAYS): what it deletes, what it keeps,
 * that it runs periodically, and that it never waits for a row a request holds.
 */

const worlds: ServerWithClient[] = []
async function world(env: Record<string, string>) {
  const w = await startServerWithClient(env)
  worlds.push(w)
  return { ...w, flows: createGrantFlows(w.server, w.app, `${w.wallets.url}/alice`) }
}
after(() => Promise.all(worlds.map((w) => w.close())))

async function exists(db: Db, table: 'grants' | 'access_tokens', id: string): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from ${table} where id = $1`,
    [id]
  )
  return rows[0]!.n === 1
}

async function tokenRowId(db: Db, token: IssuedToken): Promise<string> {
  const managementId = new URL(token.manage).pathname.split('/').pop()!
  const { rows } = await db.query<{ id: string }>(
    'select id from access_tokens where management_id = $1',
    [managementId]
  )
  return rows[0]!.id
}

const grantOf = async (flows: GrantFlows, token: IssuedToken) =>
  (await flows.introspect(token.value)).grant!

describe('with no retention period (days = 0)', () => {
  let w: Awaited<ReturnType<typeof world>>
  before(async () => {
    w = await world({
      ACCESS_TOKEN_DELETION_DAYS: '0',
      PENDING_GRANT_DELETION_DAYS: '0',
      GRANT_DELETION_DAYS: '0',
      INTERACTION_EXPIRY_SECONDS: '60',
      CLEANUP_INTERVAL_SECONDS: '3600'
    })
  })
  const db = () => w.server.services.db
  const pass = () => w.server.retention!.runOnce()
  /** The trail keeps what the rows no longer say: the grant went, by the retention job, and why. */
  async function assertPurged(grantId: string, why: 'finished' | 'abandoned') {
    const events = await w.server.services.events.list(
      { grantId, typeIn: ['grant.purged'] },
      { limit: 10 }
    )
    assert.deepEqual(
      events.map((e) => [e.actorKind, e.tenantId, e.client, e.details]),
      [['retention', w.server.tenantId, w.app.walletAddress, { why }]]
    )
  }

  test('a live token and its grant stay; a rotated-away token goes; the grant goes with its last token', async () => {
    const { token } = await w.flows.requestNonInteractive()
    const grantId = await grantOf(w.flows, token)
    const first = await tokenRowId(db(), token)
    await pass()
    assert.ok(await exists(db(), 'access_tokens', first), 'a live token is kept')

    const rotated = await w.flows.rotate(token)
    assert.equal(rotated.status, 200, rotated.text)
    const next = (rotated.body as { access_token: IssuedToken }).access_token
    const counts = await pass()
    assert.ok(counts.tokens >= 1)
    assert.ok(!(await exists(db(), 'access_tokens', first)), 'the revoked token is gone')
    assert.ok(await exists(db(), 'grants', grantId), 'the grant still has a live token')
    assert.equal((await w.flows.introspect(next.value)).active, true)

    assert.equal((await w.flows.revoke(next)).status, 204)
    await pass()
    assert.equal(await w.flows.allTokens(grantId), 0)
    assert.ok(!(await exists(db(), 'grants', grantId)), 'a finished grant with no token goes')
    await assertPurged(grantId, 'finished')
  })

  test('an expired token goes; a grant pending past its interaction expiry goes with its interaction', async () => {
    const { token } = await w.flows.requestNonInteractive()
    const id = await tokenRowId(db(), token)
    const pending = await w.flows.requestInteractive()
    const started = await w.flows.startInteraction(pending.redirect)
    const pendingGrant = await w.flows.grantIdOf(started)
    await pass()
    assert.ok(await exists(db(), 'access_tokens', id))
    assert.ok(await exists(db(), 'grants', pendingGrant), 'an interaction in progress is kept')

    // Ten minutes on: the token (600 s) has expired and the interaction (60 s) is long over.
    await db().query(
      `update access_tokens set created_at = created_at - interval '601 seconds' where id = $1`,
      [id]
    )
    await db().query(
      `update grants set created_at = created_at - interval '61 seconds' where id = $1`,
      [pendingGrant]
    )
    const counts = await pass()
    assert.ok(counts.tokens >= 1 && counts.abandonedGrants >= 1, JSON.stringify(counts))
    assert.ok(!(await exists(db(), 'access_tokens', id)))
    assert.ok(!(await exists(db(), 'grants', pendingGrant)))
    const { rows } = await db().query<{ n: number }>(
      'select count(*)::int as n from interactions where grant_id = $1',
      [pendingGrant]
    )
    assert.equal(rows[0]!.n, 0, 'the interaction went with its grant')
    await assertPurged(pendingGrant, 'abandoned')
  })

  test('expired replay records go; live ones stay', async () => {
    await db().query(
      `insert into signature_replays (signature, expires_at)
       values ('\\x01'::bytea, now() - interval '1 second'), ('\\x02'::bytea, now() + interval '5 minutes')`
    )
    await pass()
    const { rows } = await db().query<{ signature: Buffer }>(
      `select signature from signature_replays where signature in ('\\x01'::bytea, '\\x02'::bytea)`
    )
    assert.deepEqual(
      rows.map((r) => Buffer.from(r.signature).toString('hex')),
      ['02']
    )
  })

  test('a grant a request holds is skipped, not waited for, and deleted by a later pass', async () => {
    const pending = await w.flows.requestInteractive()
    const grantId = await w.flows.grantIdOf(await w.flows.startInteraction(pending.redirect))
    await db().query(
      `update grants set created_at = created_at - interval '61 seconds' where id = $1`,
      [grantId]
    )
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const holder = db().transaction(async (tx) => {
      await tx.query('select id from grants where id = $1 for update', [grantId])
      locked()
      await held
    })
    await isLocked
    const started = Date.now()
    await pass()
    assert.ok(Date.now() - started < 5_000, 'the pass did not wait for the lock')
    assert.ok(await exists(db(), 'grants', grantId), 'the held grant was skipped')
    release()
    await holder
    await pass()
    assert.ok(!(await exists(db(), 'grants', grantId)))
  })
})

describe('with the default retention periods', () => {
  test('revoked and expired tokens are kept for ACCESS_TOKEN_DELETION_DAYS (30)', async () => {
    const w = await world({ CLEANUP_INTERVAL_SECONDS: '3600' })
    const { token } = await w.flows.requestNonInteractive()
    const id = await tokenRowId(w.server.services.db, token)
    assert.equal((await w.flows.revoke(token)).status, 204)
    await w.server.retention!.runOnce()
    assert.ok(await exists(w.server.services.db, 'access_tokens', id))
  })

  test('finished grants are kept without GRANT_DELETION_DAYS, after their tokens went', async () => {
    const w = await world({ ACCESS_TOKEN_DELETION_DAYS: '0', CLEANUP_INTERVAL_SECONDS: '3600' })
    const db = w.server.services.db
    const { token } = await w.flows.requestNonInteractive()
    const grantId = await grantOf(w.flows, token)
    const id = await tokenRowId(db, token)
    assert.equal((await w.flows.revoke(token)).status, 204)
    // Finished long ago: any deletion period would be over, so only "unset" keeps it.
    await db.query(
      `update grants set created_at = now() - interval '10 years',
         updated_at = now() - interval '10 years' where id = $1`,
      [grantId]
    )
    await new Promise((r) => setTimeout(r, 1100))
    const counts = await w.server.retention!.runOnce()
    assert.ok(!(await exists(db, 'access_tokens', id)), 'the revoked token went')
    assert.equal(counts.finishedGrants, 0)
    assert.ok(await exists(db, 'grants', grantId), 'the finished grant stays listable')
  })
})

test('audit events older than EVENT_RETENTION_DAYS go; newer ones stay', async () => {
  const w = await world({ EVENT_RETENTION_DAYS: '30', CLEANUP_INTERVAL_SECONDS: '3600' })
  const { db, events } = w.server.services
  const tenantId = w.server.tenantId
  for (const age of ['old', 'recent']) {
    await events.record(db, {
      type: 'tenant.updated',
      tenantId,
      actor: { kind: 'service-api' },
      details: { age }
    })
  }
  await db.query("update events set at = now() - interval '31 days' where details->>'age' = 'old'")
  const counts = await w.server.retention!.runOnce()
  assert.equal(counts.events, 1)
  const left = await events.list({ tenantId, typeIn: ['tenant.updated'] }, { limit: 10 })
  assert.deepEqual(
    left.map((e) => e.details.age),
    ['recent']
  )
})

describe('the job runs by itself', () => {
  test('every CLEANUP_INTERVAL_SECONDS, not only at start', async () => {
    const w = await world({ ACCESS_TOKEN_DELETION_DAYS: '0', CLEANUP_INTERVAL_SECONDS: '1' })
    const db = w.server.services.db
    for (let round = 0; round < 2; round++) {
      const { token } = await w.flows.requestNonInteractive()
      const id = await tokenRowId(db, token)
      assert.equal((await w.flows.revoke(token)).status, 204)
      // Only how long a broken job is waited for: it passes as soon as the token is gone.
      const deadline = Date.now() + 60_000
      while (await exists(db, 'access_tokens', id)) {
        assert.ok(Date.now() < deadline, `round ${round}: the revoked token was not deleted`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  })

  test('DATABASE_CLEANUP_WORKERS=0 turns it off', async () => {
    const w = await world({ DATABASE_CLEANUP_WORKERS: '0' })
    assert.equal(w.server.retention, undefined)
  })
})
