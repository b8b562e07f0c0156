import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import {
  localServerEnv,
  ranOpas,
  startedOpas,
  stoppedOpas,
  tempFolder,
  type OpasProcess
} from '../helpers/opas-process.js'

/**
 * `opas tenants …` as an operator runs it beside a running server on the embedded database (the
 * commands use its database), and what the command line refuses, naming the option. The grant
 * commands, and the commands between two runs of the server, are in operator-cli.test.ts.
 */

const dataDir = tempFolder('opas-operator-tenants-')
let server: OpasProcess | undefined
let tenantId: string

const opas = (...args: string[]) => ranOpas(args, { DATA_DIR: dataDir })

// Suite hooks: its `after` stops the server before the helper's own (which kills whatever is
// still running at the end of the file) runs.
describe('beside a running server on the embedded database', () => {
  before(async () => {
    server = await startedOpas(await localServerEnv(dataDir))
    tenantId = (await server.printed(/OPERATOR_TENANT_ID=([0-9a-f-]{36})/))[1]!
  })
  after(async () => {
    // The server first: it owns the data directory until it has stopped.
    if (server) await stoppedOpas(server)
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('tenants: create (secret generated and shown once), update, list, delete', async () => {
    const created = await opas(
      'tenants',
      'create',
      '--json',
      '--idp-consent-url',
      'https://idp.example/consent'
    )
    assert.equal(created.code, 0, created.output)
    const { id, apiSecret } = JSON.parse(created.output) as { id: string; apiSecret: string }
    assert.ok(apiSecret.length >= 32)
    const updated = await opas(
      'tenants',
      'update',
      id,
      '--idp-consent-url',
      'https://idp.example/moved'
    )
    assert.equal(updated.code, 0, updated.output)
    const listed = JSON.parse((await opas('tenants', 'list', '--json')).output) as {
      id: string
      idpConsentUrl: string | null
    }[]
    assert.deepEqual(listed.map((t) => t.id).sort(), [id, tenantId].sort())
    assert.equal(listed.find((t) => t.id === id)!.idpConsentUrl, 'https://idp.example/moved')
    assert.equal((await opas('tenants', 'delete', id)).code, 0)
    const gone = await opas('tenants', 'show', id)
    assert.equal(gone.code, 1)
    assert.match(gone.output, new RegExp(`opas: no tenant ${id}`))
  })

  test('bad input is named: exit 2 for the command line, 1 for what is not there', async () => {
    for (const [args, message] of [
      [['grants', 'show', 'nope'], /the grant id must be a UUID/],
      [
        ['grants', 'list', '--state', 'DONE'],
        /--state must be one of pending, approved, issued, inactive, revoked, rejected, processing \(or a GNAP state: PROCESSING, PENDING, APPROVED, FINALIZED\)/
      ],
      [['grants', 'list', '--limit', '500'], /from 1 to 100/],
      [['tenants', 'update', '0b9d4a3e-8c1f-4e2a-9b7d-6c5e4f3a2b10'], /give at least one of/]
    ] as const) {
      // Refused by the parser: the database is not even opened.
      const run = await opas(...args)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.output}`)
      assert.match(run.output, message)
    }
    // Refused by the tenant directory, as the service API and the console refuse them: exit 2,
    // the option named, nothing created.
    const before = (await opas('tenants', 'list', '--json')).output
    const short = 'x'.repeat(19)
    for (const [args, message] of [
      [['tenants', 'create', '--idp-consent-url', 'ftp://x'], /--idp-consent-url must be an http/],
      [['tenants', 'create', '--id', 'nope'], /--id must be a UUID/],
      [['tenants', 'create', '--api-secret', short], /--api-secret must be at least 20 characters/],
      [['tenants', 'create', '--idp-secret', short], /--idp-secret must be at least 20 characters/],
      [['tenants', 'update', tenantId, '--api-secret', short], /--api-secret must be at least 20/],
      [['tenants', 'update', tenantId, '--idp-secret', short], /--idp-secret must be at least 20/]
    ] as const) {
      const run = await opas(...args)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.output}`)
      assert.match(run.output, message)
    }
    assert.equal((await opas('tenants', 'list', '--json')).output, before)
    const missing = await opas('grants', 'revoke', '0b9d4a3e-8c1f-4e2a-9b7d-6c5e4f3a2b10')
    assert.equal(missing.code, 1)
    assert.match(missing.output, /opas: no grant/)
  })
})
