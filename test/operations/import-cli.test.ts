import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import pg from 'pg'
import {
  introspectsActive,
  localServerEnv,
  ranOpas,
  startedOpas,
  stoppedOpas,
  tempFolder
} from '../helpers/opas-process.js'
import { postgresOnly } from '../helpers/requirements.js'
import { createTestDatabase } from '../helpers/test-server.js'

/**
 * `opas import rafiki` as an operator runs it (issue 25): a bad --from is named, a database that
 * cannot be read or is not Rafiki's is refused saying why, and a dry run and then a real run
 * print what they did.
 */

const root = tempFolder('opas-import-')
after(() => rmSync(root, { recursive: true, force: true }))

const opas = (dataDir: string, ...args: string[]) => ranOpas(args, { DATA_DIR: dataDir })

test('a --from that is not a PostgreSQL URL is named, exit 2', async () => {
  const { code, output } = await opas(join(root, 'usage'), 'import', 'rafiki', '--from', 'auth-db')
  assert.equal(code, 2, output)
  assert.match(output, /--from .*takes the PostgreSQL URL of Rafiki auth's database/)
})

test('a Rafiki database that cannot be reached is refused, naming it without its password', async () => {
  const dataDir = join(root, 'unreachable')
  assert.equal((await opas(dataDir, 'migrate')).code, 0)
  const { code, output } = await opas(
    dataDir,
    'import',
    'rafiki',
    '--from',
    'postgresql://rafiki:hunter2@127.0.0.1:9/auth'
  )
  assert.equal(code, 1, output)
  assert.match(
    output,
    /cannot read the Rafiki database at postgresql:\/\/rafiki:redacted@127\.0\.0\.1:9\/auth/
  )
  assert.doesNotMatch(output, /hunter2/)
})

test(
  'beside a running server on the embedded database: a dry run, then the import, whose token the server then honours',
  { skip: postgresOnly() },
  async () => {
    const dataDir = join(root, 'import')
    const env = await localServerEnv(dataDir)
    const server = await startedOpas(env)
    after(() => (server.child.exitCode === null ? stoppedOpas(server) : undefined))
    const database = (await createTestDatabase())!
    after(() => database.drop())
    const rafikiValue = 'C0FFEE00C0FFEE00C0FE'
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      // Not Rafiki's yet: refused.
      const notRafiki = await opas(dataDir, 'import', 'rafiki', '--from', database.url)
      assert.equal(notRafiki.code, 1, notRafiki.output)
      assert.match(notRafiki.output, /not a Rafiki auth database/)

      await client.query(
        readFileSync(new URL('../fixtures/rafiki/auth-schema.sql', import.meta.url), 'utf8')
      )
      const tenant = randomUUID()
      const grant = randomUUID()
      await client.query(
        `insert into "tenants" ("id", "apiSecret") values ($1, 'a-rafiki-tenant-api-secret')`,
        [tenant]
      )
      await client.query(
        `insert into "grants" ("id", "state", "finalizationReason", "continueToken", "continueId",
         "client", "tenantId")
       values ($1, 'FINALIZED', 'ISSUED', 'C0FFEE00C0FFEE00C0FF', $2, 'https://app.example/w', $3)`,
        [grant, randomUUID(), tenant]
      )
      await client.query(
        `insert into "accessTokens" ("id", "value", "managementId", "expiresIn", "grantId")
         values ($1, $2, $3, 600, $4)`,
        [randomUUID(), rafikiValue, randomUUID(), grant]
      )
    } finally {
      await client.end()
    }

    const dry = await opas(dataDir, 'import', 'rafiki', '--from', database.url, '--dry-run')
    assert.equal(dry.code, 0, dry.output)
    assert.match(dry.output, /Dry run: nothing was changed/)
    assert.match(dry.output, /│ grants +│ 1 +│ 1 +│ 0 +│ 0 +│ 0 +│/)
    const listed = async () =>
      JSON.parse((await opas(dataDir, 'grants', 'list', '--json')).output) as unknown[]
    assert.equal((await listed()).length, 0)

    const real = await opas(dataDir, 'import', 'rafiki', '--from', database.url, '--json')
    assert.equal(real.code, 0, real.output)
    const report = JSON.parse(real.output) as { tables: { grants: { imported: number } } }
    assert.equal(report.tables.grants.imported, 1)
    assert.equal((await listed()).length, 1)
    assert.equal(await introspectsActive(env, rafikiValue), true, 'the running server honours it')

    // Run again: nothing new, everything already there; the position is not resumed.
    const again = await opas(dataDir, 'import', 'rafiki', '--from', database.url)
    assert.equal(again.code, 0, again.output)
    assert.match(again.output, /│ accessTokens +│ 1 +│ 0 +│ 0 +│ 1 +│ 0 +│/)
    assert.doesNotMatch(again.output, /Resumed/)
    await stoppedOpas(server)
  }
)
