import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  inRolledBackTransaction,
  lifetimeAndAgeArb,
  useTestDb,
  seedGrant,
  seedTenant
} from '../../test/helpers/store-test.js'
import { findActiveToken, insertToken, rotateToken } from './token-store.js'
import { isTokenExpired } from './token-value.js'

// Introspection judges a token's expiry in SQL (findActiveToken), for speed: for any creation
// moment and lifetime its answer is the model's (isTokenExpired). On the PostgreSQL server when
// the suite runs on one (OPAS_TEST_DATABASE_URL), on a throwaway embedded one otherwise.
describe('findActiveToken (SQL) agrees with isTokenExpired (the model)', () => {
  // An issued grant the generated tokens belong to.
  const store = useTestDb(async (db) => seedGrant(db, await seedTenant(db), 'FINALIZED', 'ISSUED'))

  test('for generated lifetimes and ages, around the boundary', async () => {
    await fc.assert(
      fc.asyncProperty(lifetimeAndAgeArb, async ({ seconds, ageMs }) => {
        // One transaction: now() is one moment for the insert, the model's clock and the lookup.
        const answers = await inRolledBackTransaction(store.db, async (tx) => {
          const valueHash = randomBytes(32)
          const { rows } = await tx.query<{ now: Date; created: Date }>(
            `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in,
               created_at)
             values ($1, $2, $3, $4, $5, now() - make_interval(secs => $6::float8 / 1000))
             returning now() as now, created_at as created`,
            [randomUUID(), store.seeded, valueHash, randomUUID(), seconds, ageMs]
          )
          const { now, created } = rows[0]!
          return {
            sql: (await findActiveToken(tx, valueHash)) !== undefined,
            model: !isTokenExpired(created, seconds, now)
          }
        })
        assert.equal(answers.sql, answers.model, `expires_in ${seconds} s, age ${ageMs} ms`)
      }),
      { numRuns: 200 }
    )
  })
})

// Operators follow a token's rotations (the console's grant history): the new token names the one
// it replaced, written by the rotation's own statement.
describe('rotateToken records the token it replaced, and its event', () => {
  const store = useTestDb(async (db) => {
    const tenantId = await seedTenant(db)
    return { tenantId, grantId: await seedGrant(db, tenantId, 'FINALIZED', 'ISSUED') }
  })
  const event = {
    type: 'token.rotated' as const,
    actor: { kind: 'client' as const, walletAddress: 'https://wallet.test/app' },
    client: 'https://wallet.test/app',
    requestId: 'req-1',
    remoteAddress: '127.0.0.9'
  }

  test('rotated_from is the old token; one token.rotated event; a lost rotation writes neither', async () => {
    const { grantId, tenantId } = store.seeded
    const links = await inRolledBackTransaction(store.db, async (tx) => {
      const old = { valueHash: randomBytes(32), managementId: randomUUID(), expiresIn: 600 }
      await insertToken(tx, grantId, old)
      const next = { valueHash: randomBytes(32), managementId: randomUUID(), expiresIn: 600 }
      const rotated = await rotateToken(tx, { ...old, tenantId }, next, { kind: 'none' }, event)
      assert.deepEqual(rotated, { claimed: true, access: [], label: null })
      // A second rotation of the same old token finds it revoked and writes nothing.
      const again = { valueHash: randomBytes(32), managementId: randomUUID(), expiresIn: 600 }
      const lost = await rotateToken(tx, { ...old, tenantId }, again, { kind: 'none' }, event)
      assert.equal(lost.access, undefined)
      const { rows } = await tx.query<{ mid: string; id: string; rotatedFrom: string | null }>(
        `select management_id as mid, id, rotated_from as "rotatedFrom" from access_tokens
         where grant_id = $1`,
        [grantId]
      )
      const events = await tx.query<Record<string, unknown>>(
        `select type, tenant_id as "tenantId", grant_id as "grantId", client, actor_kind as "actorKind",
           actor, request_id as "requestId", remote_address as "remoteAddress"
         from events where grant_id = $1`,
        [grantId]
      )
      return { old: old.managementId, next: next.managementId, rows, events: events.rows }
    })
    const byMid = new Map(links.rows.map((r) => [r.mid, r]))
    assert.equal(links.rows.length, 2)
    assert.equal(byMid.get(links.old)!.rotatedFrom, null)
    assert.equal(byMid.get(links.next)!.rotatedFrom, byMid.get(links.old)!.id)
    assert.deepEqual(links.events, [
      {
        type: 'token.rotated',
        tenantId,
        grantId,
        client: 'https://wallet.test/app',
        actorKind: 'client',
        actor: 'https://wallet.test/app',
        requestId: 'req-1',
        remoteAddress: '127.0.0.9'
      }
    ])
  })
})
