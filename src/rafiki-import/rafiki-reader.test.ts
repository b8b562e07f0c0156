import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  insertRafiki,
  insertRafikiGrant,
  openRafikiSource
} from '../../test/helpers/rafiki-source.js'
import type { Db } from '../storage/db.js'
import { ChildStream, countFrom, SourceCursor } from './rafiki-reader.js'

/**
 * Issue 25: Rafiki's tables read through cursors in one snapshot, and a grant batch's access
 * items taken from a cursor in grant order: each batch gets exactly its grants' rows, whatever
 * the fetch size, and the rows of later grants wait for their batch.
 */

let db: Db
let close: (() => Promise<void>) | undefined
const tenantId = '00000000-0000-4000-8000-000000000001'
/** Grant ids in PostgreSQL's uuid order, and how many access items each has. */
const grants = [
  ['10000000-0000-4000-8000-000000000000', 2],
  ['20000000-0000-4000-8000-000000000000', 0],
  ['30000000-0000-4000-8000-000000000000', 3],
  ['a0000000-0000-4000-8000-000000000000', 1]
] as const

before(async () => {
  ;({ db, close } = await openRafikiSource())
  await insertRafiki(db, 'tenants', { id: tenantId, apiSecret: 'a-rafiki-tenant-api-secret' })
  for (const [id, items] of grants) {
    await insertRafikiGrant(db, { id, tenantId, client: 'https://wallet.example/app' })
    for (let i = 0; i < items; i++) {
      await insertRafiki(db, 'accesses', {
        id: `${id.slice(0, 8)}-0000-4000-8000-00000000000${i}`,
        type: 'incoming-payment',
        actions: ['read'],
        grantId: id,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i))
      })
    }
  }
})
after(() => close?.())

/** The access items of each grant batch, as grant-id prefixes, read with `fetchSize`. */
const split = (fetchSize: number, batches: string[][]) =>
  db.transaction(async (tx) => {
    const cursor = await SourceCursor.open<{ grantId: string; id: string }>(
      tx,
      'accesses',
      'grantId',
      '"grantId", "createdAt", id',
      { after: null, since: null }
    )
    const stream = new ChildStream(cursor, fetchSize)
    const out: string[][] = []
    for (const batch of batches) {
      out.push((await stream.through(batch.at(-1)!)).map((a) => a.id.slice(0, 1) + a.id.slice(-1)))
    }
    return out
  })

test("each grant batch gets exactly its grants' access items, in creation order, whatever the fetch size", async () => {
  const [g1, g2, g3, g4] = [grants[0][0], grants[1][0], grants[2][0], grants[3][0]]
  for (const fetchSize of [1, 2, 3, 100]) {
    assert.deepEqual(
      await split(fetchSize, [[g1], [g2], [g3], [g4]]),
      [['10', '11'], [], ['30', '31', '32'], ['a0']],
      `fetch size ${fetchSize}`
    )
    assert.deepEqual(
      await split(fetchSize, [
        [g1, g2],
        [g3, g4]
      ]),
      [
        ['10', '11'],
        ['30', '31', '32', 'a0']
      ],
      `fetch size ${fetchSize}`
    )
  }
})

test('a cursor starts after the given row, and the count says how many are left', async () => {
  const ids = await db.transaction(async (tx) => {
    const from = { after: grants[1][0], since: null }
    const cursor = await SourceCursor.open<{ id: string }>(tx, 'grants', 'id', 'id', from)
    const first = await cursor.next(1)
    const rest = await cursor.next(10)
    assert.equal(await countFrom(tx, 'grants', from), 2)
    assert.equal(await countFrom(tx, 'grants', { after: null, since: null }), 4)
    return [...first, ...rest].map((g) => g.id)
  })
  assert.deepEqual(ids, [grants[2][0], grants[3][0]])
})
