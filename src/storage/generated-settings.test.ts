import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { useTestDb } from '../../test/helpers/store-test.js'
import {
  GeneratedSettingsMismatchError,
  claimShowing,
  readGeneratedSettings,
  resolveGeneratedSettings
} from './generated-settings.js'

/**
 * Issue 24: a key that protects data in the database (TENANT_SECRETS_KEY, COOKIE_KEY) is not
 * kept in it. Generated values live in DATA_DIR/generated.env; the database keeps fingerprints.
 */

const folders = mkdtempSync(join(tmpdir(), 'opas-generated-'))
after(() => rmSync(folders, { recursive: true, force: true }))
const t = useTestDb(async (db) => {
  await db.query('delete from generated_settings')
})
let counter = 0
const generate = (name: string) => `${name}-value-${++counter}`
const names = ['operatorTenantId', 'cookieKey', 'tenantSecretsKey']

test('generated values go to a private file, never into the database, and are shown until marked', async () => {
  const file = join(folders, 'first', 'generated.env')
  const first = await resolveGeneratedSettings(t.db, file, names, generate)
  assert.deepEqual([...first.values.keys()], names)
  assert.deepEqual(first.unshown, names)
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(statSync(join(folders, 'first')).mode & 0o077, 0)
  const text = readFileSync(file, 'utf8')
  for (const [name, value] of first.values) assert.ok(text.includes(`${name}=${value}\n`))

  const { rows } = await t.db.query<{ value: string | null; fingerprint: string }>(
    'select value, fingerprint from generated_settings'
  )
  assert.equal(rows.length, 3)
  for (const row of rows) {
    assert.equal(row.value, null, 'no value in the database')
    assert.match(row.fingerprint, /^[0-9a-f]{64}$/)
    for (const value of first.values.values()) assert.ok(!row.fingerprint.includes(value))
  }

  // Not shown yet (the start failed before listening): the next start shows the same values.
  const again = await resolveGeneratedSettings(t.db, file, names, generate)
  assert.deepEqual(again.values, first.values)
  assert.deepEqual(again.unshown, names)
  assert.deepEqual(await claimShowing(t.db, names), names)
  assert.deepEqual(await claimShowing(t.db, names), [], 'shown by one process only')
  const later = await resolveGeneratedSettings(t.db, file, names, generate)
  assert.deepEqual(later.values, first.values)
  assert.deepEqual(later.unshown, [])
  assert.deepEqual(await readGeneratedSettings(t.db, file), first.values)
})

test('a process with another DATA_DIR on the same database is refused, not given other keys', async () => {
  const other = join(folders, 'other', 'generated.env')
  await assert.rejects(
    resolveGeneratedSettings(t.db, other, names, generate),
    (err: Error) =>
      err instanceof GeneratedSettingsMismatchError &&
      /generated operatorTenantId was made by another opas process: .*other\/generated.env has no value for it/.test(
        err.message
      )
  )
})

test('values an earlier version kept in the database move to the file and leave the database', async () => {
  await t.db.query('delete from generated_settings')
  await t.db.query(
    `insert into generated_settings (name, value, announced_at) values
     ('adminApiSecret', 'legacy-admin-secret', now()), ('cookieKey', 'legacy-cookie-key', now())`
  )
  const file = join(folders, 'legacy', 'generated.env')
  // Before a start moves them, `opas secrets show` still finds them.
  assert.equal((await readGeneratedSettings(t.db, file)).get('cookieKey'), 'legacy-cookie-key')
  const { values, unshown } = await resolveGeneratedSettings(t.db, file, ['cookieKey'], generate)
  assert.equal(values.get('cookieKey'), 'legacy-cookie-key')
  assert.deepEqual(unshown, [], 'shown by the start that generated them')
  const text = readFileSync(file, 'utf8')
  assert.match(text, /^cookieKey=legacy-cookie-key$/m)
  assert.match(text, /^adminApiSecret=legacy-admin-secret$/m)
  const { rows } = await t.db.query('select 1 from generated_settings where value is not null')
  assert.equal(rows.length, 0)
})
