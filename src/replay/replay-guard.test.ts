import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { openTestDb } from '../../test/helpers/store-test.js'
import type { Db } from '../storage/db.js'
import {
  createDatabaseReplayGuard,
  createMemoryReplayGuard,
  type ReplayGuard
} from './replay-guard.js'

const signature = (n: number) => Buffer.alloc(64, n)
const nowSeconds = () => Math.floor(Date.now() / 1000)

function sharedBehaviour(guard: () => ReplayGuard) {
  test('a signature is claimed once while its record lives; other signatures are independent', async () => {
    const expires = nowSeconds() + 300
    assert.equal(await guard().claim(signature(1), expires), true)
    assert.equal(await guard().claim(signature(1), expires), false)
    assert.equal(await guard().claim(signature(1), expires + 100), false)
    assert.equal(await guard().claim(signature(2), expires), true)
  })

  test('concurrent claims of one signature: exactly one wins', async () => {
    const expires = nowSeconds() + 300
    const results = await Promise.all(
      Array.from({ length: 20 }, () => guard().claim(signature(3), expires))
    )
    assert.equal(results.filter(Boolean).length, 1)
  })
}

describe('memory replay guard (the embedded database: one process)', () => {
  let clock = 1_700_000_000_000
  const guard = createMemoryReplayGuard({ now: () => clock })
  sharedBehaviour(() => guard)

  test('the record expires with the window', async () => {
    const expires = clock / 1000 + 300
    assert.equal(await guard.claim(signature(10), expires), true)
    clock += 299_000
    assert.equal(await guard.claim(signature(10), expires), false)
    clock += 2_000
    assert.equal(await guard.claim(signature(10), expires), true)
  })

  test('an already expired record is not kept', async () => {
    assert.equal(await guard.claim(signature(11), clock / 1000 - 1), true)
    assert.equal(await guard.claim(signature(11), clock / 1000 - 1), true)
  })

  test('bounded: past maxEntries the oldest records are forgotten', async () => {
    const small = createMemoryReplayGuard({ now: () => clock, maxEntries: 2 })
    const expires = clock / 1000 + 300
    for (const n of [20, 21, 22]) assert.equal(await small.claim(signature(n), expires), true)
    assert.equal(await small.claim(signature(22), expires), false)
    assert.equal(await small.claim(signature(20), expires), true)
  })
})

// The guard opas uses on PostgreSQL, tested on the PostgreSQL server when the suite runs on one
// (OPAS_TEST_DATABASE_URL), and on the embedded one otherwise: the same SQL, the same answers.
const onPostgres = process.env.OPAS_TEST_DATABASE_URL !== undefined

describe(`database replay guard (shared by every process), on ${onPostgres ? 'PostgreSQL' : 'the embedded database'}`, () => {
  let db: Db
  let close: () => Promise<void>
  before(async () => {
    ;({ db, close } = await openTestDb())
    assert.equal(db.kind, onPostgres ? 'postgres' : 'embedded')
  })
  after(() => close())
  sharedBehaviour(() => createDatabaseReplayGuard(db))

  test('an expired record (not yet deleted) is claimed afresh', async () => {
    const guard = createDatabaseReplayGuard(db)
    assert.equal(await guard.claim(signature(30), nowSeconds() - 1), true)
    assert.equal(await guard.claim(signature(30), nowSeconds() + 300), true)
    assert.equal(await guard.claim(signature(30), nowSeconds() + 300), false)
    const { rows } = await db.query<{ n: number }>(
      'select count(*)::int as n from signature_replays where signature = $1',
      [signature(30)]
    )
    assert.equal(rows[0]!.n, 1)
  })

  test('the table is unlogged: recording a signature costs no WAL flush', async () => {
    const { rows } = await db.query<{ persistence: string }>(
      "select relpersistence as persistence from pg_class where relname = 'signature_replays'"
    )
    assert.equal(rows[0]!.persistence, 'u')
  })
})
