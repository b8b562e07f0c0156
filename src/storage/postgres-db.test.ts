import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createTestDatabase } from '../../test/helpers/test-server.js'
import { postgresOnly } from '../../test/helpers/requirements.js'
import { loadConfig } from '../config/index.js'
import type { Db } from './db.js'
import { createPostgresDb } from './postgres-db.js'

const noFiles = () => undefined

test('DATABASE_PREPARED_STATEMENTS: named by default, false for a transaction pooler, else named as a problem', () => {
  assert.equal(loadConfig({}, noFiles).config.databasePreparedStatements, true)
  const off = loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }, noFiles).config
  assert.equal(off.databasePreparedStatements, false)
  assert.throws(
    () => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'unnamed' }, noFiles),
    (err: { problems?: string[] }) => {
      assert.deepEqual(err.problems, [
        'DATABASE_PREPARED_STATEMENTS: must be true, false, 1 or 0 (got "unnamed")'
      ])
      return true
    }
  )
})

/** The statements prepared on the connection of `db`'s transaction after a parameterised query. */
async function preparedAfterQuery(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('select $1::int + 1 as n', [1])
    const { rows } = await tx.query<{ name: string }>(
      'select name from pg_prepared_statements where $1::bool',
      [true]
    )
    return rows.map((r) => r.name).sort()
  })
}

describe('what a statement leaves on its connection', { skip: postgresOnly() }, () => {
  let database: { url: string; drop(): Promise<void> }
  before(async () => {
    database = (await createTestDatabase())!
  })
  after(() => database?.drop())

  test('named statements stay prepared on the connection, for its next transactions', async () => {
    const db = createPostgresDb(database.url, 1)
    try {
      const names = await preparedAfterQuery(db)
      assert.equal(names.length, 2, names.join())
      for (const name of names) assert.match(name, /^opas_\d+$/)
    } finally {
      await db.close()
    }
  })

  test('with preparedStatements false, nothing stays: any pooled connection can run the next', async () => {
    const db = createPostgresDb(database.url, 1, { preparedStatements: false })
    try {
      assert.deepEqual(await preparedAfterQuery(db), [])
      assert.deepEqual(await preparedAfterQuery(db), [])
    } finally {
      await db.close()
    }
  })
})
