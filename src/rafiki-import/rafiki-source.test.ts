import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { openRafikiSource } from '../../test/helpers/rafiki-source.js'
import { openTestDb } from '../../test/helpers/store-test.js'
import type { Db, Queryable } from '../storage/db.js'
import {
  checkRafikiMigrations,
  knownRafikiMigrations,
  RafikiSourceError,
  readRafikiMigrations
} from './rafiki-source.js'

/**
 * Issue 25: the import reads only a Rafiki auth database at the migrations it knows, and
 * refuses any other naming the migration.
 */

let db: Db
let close: (() => Promise<void>) | undefined

before(async () => {
  ;({ db, close } = await openRafikiSource())
})
after(() => close?.())

/** As the import reads: in a read-only transaction, rolled back. */
async function readOnly<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const rollback = Symbol('rollback')
  let result: { value: T } | undefined
  await db
    .transaction(async (tx) => {
      await tx.query('set transaction read only')
      result = { value: await fn(tx) }
      throw rollback
    })
    .catch((err: unknown) => {
      if (err !== rollback) throw err
    })
  return result!.value
}

test('a Rafiki auth database at the known migrations is read, in a transaction that cannot write', async () => {
  const applied = await readOnly(readRafikiMigrations)
  assert.deepEqual(applied, [...knownRafikiMigrations])
  checkRafikiMigrations(applied)
  await assert.rejects(
    readOnly((tx) => tx.query(`delete from "tenants"`)),
    /read-only transaction/
  )
})

test('a migration the import does not know is refused, naming it', () => {
  const newer = [...knownRafikiMigrations, '20270101000000_add_something.js']
  assert.throws(
    () => checkRafikiMigrations(newer),
    (err: Error) =>
      err instanceof RafikiSourceError &&
      /does not know: 20270101000000_add_something\.js/.test(err.message)
  )
})

test('a Rafiki that has not run every known migration is told to upgrade first', () => {
  const older = knownRafikiMigrations.slice(0, -1)
  assert.throws(
    () => checkRafikiMigrations(older),
    /lacks migration\(s\) 20260212120000_add_jwk_make_client_optional\.js: upgrade Rafiki/
  )
})

test('a database that is not Rafiki auth is refused, saying which database to give', async () => {
  const other = await openTestDb()
  try {
    await assert.rejects(readRafikiMigrations(other.db), /not a Rafiki auth database/)
  } finally {
    await other.close()
  }
})
