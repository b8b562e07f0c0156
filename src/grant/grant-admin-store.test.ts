import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { seedGrant, seedTenant, useTestDb } from '../../test/helpers/store-test.js'
import type { Queryable } from '../storage/db.js'
import {
  findGrantHistory,
  listGrants,
  type GrantListFilter,
  type GrantListPage
} from './grant-admin-store.js'
import { grantStatuses, statusOf, type GrantStatus } from './grant-status.js'

/*
 * What operators read of grants (the admin API, the CLI, the console): the wallet-address filter
 * with keyset paging, and a grant's history without any token value or handle. On the PostgreSQL
 * server when the suite runs on one (OPAS_TEST_DATABASE_URL), on a throwaway embedded one
 * otherwise.
 */

const store = useTestDb(async (db) => ({ a: await seedTenant(db), b: await seedTenant(db) }))

/** A grant of `client` created `at`, with one access item per identifier, by its id. */
async function grant(
  q: Queryable,
  o: { tenantId: string; client: string | null; at: string; identifiers?: string[] }
): Promise<string> {
  const id = randomUUID()
  await q.query(
    `insert into grants (id, tenant_id, state, finalization_reason, continue_id,
       continue_token_hash, grant_uri, client, client_name, jwk, created_at)
     values ($1, $2, 'FINALIZED', 'ISSUED', $3, $4, 'http://as.example/t', $5, $6, $7, $8)`,
    [
      id,
      o.tenantId,
      randomUUID(),
      randomBytes(32),
      o.client,
      o.client === null ? null : 'Shop',
      o.client === null ? { kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k' } : null,
      o.at
    ]
  )
  for (const [position, identifier] of (o.identifiers ?? []).entries()) {
    await q.query(
      `insert into accesses (id, grant_id, position, type, actions, identifier)
       values ($1, $2, $3, 'outgoing-payment', '{create,read}', $4)`,
      [randomUUID(), id, position, identifier]
    )
  }
  return id
}

describe('listGrants by wallet address', () => {
  /**
   * Grants on one address: as an access item's identifier, as the client, or both (listed once);
   * and grants near it that must not match (another address, a trailing slash).
   */
  async function seedAddress() {
    const { a, b } = store.seeded
    const base = `https://w.example/${randomUUID()}`
    const address = `${base}/alice`
    const other = `${base}/shop`
    const at = (minute: number) => `2025-03-01T10:${String(minute).padStart(2, '0')}:00Z`
    const matching: string[] = []
    const add = async (tenantId: string, minute: number, client: string | null, ids: string[]) =>
      grant(store.db, { tenantId, client, at: at(minute), identifiers: ids })
    matching.push(await add(a, 0, address, [other]))
    matching.push(await add(a, 1, other, [address]))
    matching.push(await add(a, 2, address, [address]))
    await add(a, 3, other, [other])
    await add(a, 4, other, [`${address}/`])
    await add(a, 5, `${address}/`, [other])
    matching.push(await add(b, 6, address, []))
    matching.push(await add(a, 7, null, [other, address]))
    for (let minute = 8; minute < 14; minute++) {
      matching.push(await add(minute % 2 ? b : a, minute, minute % 2 ? address : other, [address]))
    }
    // Two at one moment: (created_at, id) orders them.
    matching.push(await add(a, 14, address, []))
    matching.push(await add(a, 14, other, [address]))
    const [x, y] = matching.slice(-2)
    if (x! > y!) matching.splice(-2, 2, y!, x!)
    return { address, matching }
  }

  const ids = (rows: { id: string }[]) => rows.map((r) => r.id)

  /** Every page of `size` in `order`, walked forward with `after`, then back with `before`. */
  async function walk(filter: GrantListFilter, order: 'ASC' | 'DESC', size: number) {
    const forward: string[][] = []
    let cursor: string | undefined
    for (;;) {
      const page: GrantListPage = { order, direction: 'after', limit: size, cursor }
      const rows = ids(await listGrants(store.db, filter, page))
      if (rows.length === 0) break
      forward.push(rows)
      cursor = rows.at(-1)
    }
    const backward: string[][] = []
    cursor = forward.at(-1)?.at(-1)
    for (;;) {
      const page: GrantListPage = { order, direction: 'before', limit: size, cursor }
      const rows = ids(await listGrants(store.db, filter, page))
      if (rows.length === 0) break
      backward.unshift(rows)
      cursor = rows[0]
    }
    return { forward, backward }
  }

  test('matches an access identifier or the client, exactly, each grant once', async () => {
    const { address, matching } = await seedAddress()
    const all = await listGrants(
      store.db,
      { walletAddress: address },
      { order: 'ASC', direction: 'after', limit: 100 }
    )
    assert.deepEqual(ids(all), matching)
    // The rows are whole: contents, and the client's name.
    const both = all[2]!
    assert.equal(both.clientName, 'Shop')
    assert.deepEqual(
      both.access.map((x) => x.identifier),
      [address]
    )
    // A directed-identity client (a key): matched by its access item, no address or name.
    const keyed = all[4]!
    assert.deepEqual([keyed.client, keyed.clientName], [null, null])
  })

  test('pages forward and back, in either order, with and without other conditions', async () => {
    const { address, matching } = await seedAddress()
    const { a } = store.seeded
    const inA = await listGrants(
      store.db,
      { walletAddress: address, tenantId: a },
      { order: 'ASC', direction: 'after', limit: 100 }
    )
    assert.ok(inA.length > 3 && inA.length < matching.length)
    assert.ok(inA.every((g) => g.tenantId === a))
    for (const [filter, expected] of [
      [{ walletAddress: address }, matching],
      [{ walletAddress: address, tenantId: a }, ids(inA)],
      [{ walletAddress: address, stateIn: ['PENDING'] }, []]
    ] as const) {
      for (const order of ['ASC', 'DESC'] as const) {
        const want = order === 'ASC' ? [...expected] : [...expected].reverse()
        for (const size of [1, 2, 5]) {
          const { forward, backward } = await walk(filter, order, size)
          const why = `${JSON.stringify(filter)} ${order} by ${size}`
          assert.deepEqual(forward.flat(), want, why)
          assert.ok(
            forward.every((p) => p.length <= size),
            why
          )
          // Backwards from the last row: every row before it, in the same order.
          assert.deepEqual(backward.flat(), want.slice(0, -1), why)
        }
      }
    }
  })

  test("any spelling of a client's address finds its grants; an access item's identifier matches as given or in that spelling", async () => {
    const { a } = store.seeded
    const path = `${randomUUID()}/alice`
    const address = `https://w.example/${path}`
    const spelling = `HTTPS://W.example:443/./${path.replace('alice', '%61lice')}/`
    const at = '2025-03-01T10:00:00Z'
    const asClient = await grant(store.db, { tenantId: a, client: address, at })
    const normalItem = await grant(store.db, {
      tenantId: a,
      client: null,
      at,
      identifiers: [address]
    })
    const itemAsTyped = await grant(store.db, {
      tenantId: a,
      client: null,
      at,
      identifiers: [spelling]
    })
    const page = { order: 'ASC', direction: 'after', limit: 20 } as const
    const found = ids(await listGrants(store.db, { walletAddress: spelling }, page))
    assert.deepEqual(found.sort(), [asClient, normalItem, itemAsTyped].sort())
    const byNormal = ids(await listGrants(store.db, { walletAddress: address }, page))
    assert.deepEqual(byNormal.sort(), [asClient, normalItem].sort())
  })

  test('an address with no grant lists nothing', async () => {
    await seedAddress()
    const rows = await listGrants(
      store.db,
      { walletAddress: `https://w.example/${randomUUID()}` },
      { order: 'DESC', direction: 'after', limit: 20 }
    )
    assert.deepEqual(rows, [])
  })
})

describe('listGrants by status', () => {
  /**
   * One grant of a new tenant in each status, and the ways a grant finalized as ISSUED comes to
   * hold no live token: its token revoked by the app, expired, or rotated then revoked.
   */
  async function seedStatuses() {
    const q = store.db
    const tenantId = await seedTenant(q)
    const token = async (grantId: string, o: { created?: string; revoked?: boolean } = {}) =>
      q.query(
        `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in,
           created_at, revoked_at)
         values ($1, $2, $3, $4, 600, coalesce($5::timestamptz, now()),
           case when $6 then now() end)`,
        [randomUUID(), grantId, randomBytes(32), randomUUID(), o.created ?? null, o.revoked]
      )
    const issued = async (...tokens: { created?: string; revoked?: boolean }[]) => {
      const id = await seedGrant(q, tenantId, 'FINALIZED', 'ISSUED')
      for (const t of tokens) await token(id, t)
      return id
    }
    const revoked = await seedGrant(q, tenantId, 'FINALIZED', 'REVOKED')
    await token(revoked, { revoked: true })
    const expected: Record<GrantStatus, string[]> = {
      pending: [await seedGrant(q, tenantId, 'PENDING')],
      approved: [await seedGrant(q, tenantId, 'APPROVED')],
      processing: [await seedGrant(q, tenantId, 'PROCESSING')],
      issued: [await issued({}), await issued({ revoked: true }, {})],
      inactive: [
        await issued({ revoked: true }),
        await issued({ created: '2025-03-01T10:00:00Z' }),
        await issued({ revoked: true }, { created: '2025-03-01T10:00:00Z' }),
        await issued() // no token at all (a grant of subject identifiers alone)
      ],
      revoked: [revoked],
      rejected: [await seedGrant(q, tenantId, 'FINALIZED', 'REJECTED')]
    }
    return { tenantId, expected }
  }

  const list = (filter: GrantListFilter) =>
    listGrants(store.db, filter, { order: 'ASC', direction: 'after', limit: 100 })

  test('each status finds its grants and only them; each row reads as its status', async () => {
    const { tenantId, expected } = await seedStatuses()
    const all = await list({ tenantId })
    for (const status of grantStatuses) {
      const found = await list({ tenantId, statusIn: [status] })
      assert.deepEqual(found.map((g) => g.id).sort(), [...expected[status]].sort(), status)
      for (const row of found) assert.equal(statusOf(row), status, `${status}: ${row.id}`)
    }
    assert.equal(all.length, Object.values(expected).flat().length)
  })

  test('statuses together: any of them, each combination its own condition', async () => {
    const { tenantId, expected } = await seedStatuses()
    const combinations: GrantStatus[][] = [
      ['issued', 'inactive'],
      ['pending', 'revoked'],
      ['inactive', 'rejected', 'approved'],
      ['issued', 'revoked', 'rejected', 'processing'],
      [...grantStatuses]
    ]
    for (const statuses of combinations) {
      const found = await list({ tenantId, statusIn: statuses })
      assert.deepEqual(
        found.map((g) => g.id).sort(),
        statuses.flatMap((s) => expected[s]).sort(),
        statuses.join(', ')
      )
    }
  })

  test("a token revoked or expired changes the grant's status, not its state", async () => {
    const { tenantId, expected } = await seedStatuses()
    const id = expected.issued[0]!
    await store.db.query('update access_tokens set revoked_at = now() where grant_id = $1', [id])
    const [row] = (await list({ tenantId })).filter((g) => g.id === id)
    assert.equal(row!.state, 'FINALIZED')
    assert.equal(row!.finalizationReason, 'ISSUED')
    assert.equal(row!.hasLiveToken, false)
    assert.ok((await list({ tenantId, statusIn: ['inactive'] })).some((g) => g.id === id))
  })
})

describe('findGrantHistory', () => {
  /** A grant with an answered, finished interaction and a rotated token pair. */
  async function seedHistory() {
    const { a } = store.seeded
    const grantId = await grant(store.db, {
      tenantId: a,
      client: 'https://w.example/shop',
      at: '2025-03-01T10:00:00Z',
      identifiers: ['https://w.example/alice']
    })
    const secrets = { hashes: [] as Buffer[], managementIds: [] as string[], refs: [] as string[] }
    const interaction = async (o: {
      state: string
      created: string
      updated: string
      finished: string | null
      expiresIn: number
    }) => {
      const id = randomUUID()
      const ref = randomUUID()
      secrets.refs.push(ref)
      await store.db.query(
        `insert into interactions (id, grant_id, ref, nonce, state, expires_in, created_at,
           updated_at, finished_at)
         values ($1, $2, $3, 'NONCE-SECRET', $4, $5, $6, $7, $8)`,
        [id, grantId, ref, o.state, o.expiresIn, o.created, o.updated, o.finished]
      )
      return id
    }
    const token = async (created: string, revoked: string | null, rotatedFrom: string | null) => {
      const id = randomUUID()
      const hash = randomBytes(32)
      const managementId = randomUUID()
      secrets.hashes.push(hash)
      secrets.managementIds.push(managementId)
      await store.db.query(
        `insert into access_tokens (id, grant_id, value_hash, management_id, expires_in,
           created_at, revoked_at, rotated_from)
         values ($1, $2, $3, $4, 600, $5, $6, $7)`,
        [id, grantId, hash, managementId, created, revoked, rotatedFrom]
      )
      return id
    }
    const answered = await interaction({
      state: 'APPROVED',
      created: '2025-03-01T10:00:00Z',
      updated: '2025-03-01T10:01:00Z',
      finished: '2025-03-01T10:01:05Z',
      expiresIn: 600
    })
    // Far in the future: not expired by the database clock.
    const open = await interaction({
      state: 'PENDING',
      created: '2999-01-01T00:00:00Z',
      updated: '2999-01-01T00:00:00Z',
      finished: null,
      expiresIn: 600
    })
    const first = await token('2025-03-01T10:02:00Z', '2025-03-01T10:05:00Z', null)
    const second = await token('2025-03-01T10:05:00Z', null, first)
    return { grantId, answered, open, first, second, secrets }
  }

  test('interactions and tokens in time order, with their rotations', async () => {
    const h = await seedHistory()
    const history = await findGrantHistory(store.db, h.grantId)
    assert.deepEqual(history, {
      interactions: [
        {
          id: h.answered,
          state: 'APPROVED',
          createdAt: new Date('2025-03-01T10:00:00Z'),
          decidedAt: new Date('2025-03-01T10:01:00Z'),
          finishedAt: new Date('2025-03-01T10:01:05Z'),
          expiresAt: new Date('2025-03-01T10:10:00Z'),
          expired: true
        },
        {
          id: h.open,
          state: 'PENDING',
          createdAt: new Date('2999-01-01T00:00:00Z'),
          decidedAt: null,
          finishedAt: null,
          expiresAt: new Date('2999-01-01T00:10:00Z'),
          expired: false
        }
      ],
      tokens: [
        {
          id: h.first,
          createdAt: new Date('2025-03-01T10:02:00Z'),
          expiresAt: new Date('2025-03-01T10:12:00Z'),
          expired: true,
          revokedAt: new Date('2025-03-01T10:05:00Z'),
          rotatedFrom: null,
          replacedBy: h.second
        },
        {
          id: h.second,
          createdAt: new Date('2025-03-01T10:05:00Z'),
          expiresAt: new Date('2025-03-01T10:15:00Z'),
          expired: true,
          revokedAt: null,
          rotatedFrom: h.first,
          replacedBy: null
        }
      ]
    })
  })

  test('no token value, hash or management id, no interaction ref or nonce', async () => {
    const h = await seedHistory()
    const json = JSON.stringify(await findGrantHistory(store.db, h.grantId))
    for (const hash of h.secrets.hashes) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        assert.ok(!json.includes(hash.toString(encoding)), `hash (${encoding}) in ${json}`)
      }
    }
    for (const secret of [...h.secrets.managementIds, ...h.secrets.refs, 'NONCE-SECRET']) {
      assert.ok(!json.includes(secret), `${secret} in ${json}`)
    }
  })

  test("scoped to a tenant when given: another tenant's grant is unknown", async () => {
    const h = await seedHistory()
    const { a, b } = store.seeded
    assert.ok(await findGrantHistory(store.db, h.grantId, a))
    assert.equal(await findGrantHistory(store.db, h.grantId, b), undefined)
    assert.equal(await findGrantHistory(store.db, randomUUID()), undefined)
  })

  test('a grant without interaction or token has an empty history', async () => {
    const grantId = await grant(store.db, {
      tenantId: store.seeded.a,
      client: 'https://w.example/shop',
      at: '2025-03-01T10:00:00Z'
    })
    assert.deepEqual(await findGrantHistory(store.db, grantId), { interactions: [], tokens: [] })
  })
})
