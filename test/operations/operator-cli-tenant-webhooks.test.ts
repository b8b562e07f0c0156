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
 * A tenant's own webhook receiver through `opas tenants …`, beside a running server on the
 * embedded database: `--webhook-url`, `--no-webhook-url`, `--webhook-secret` and
 * `--new-webhook-secret`, a generated secret printed once and never shown again. The other
 * tenant commands are in operator-cli-tenants.test.ts.
 */

const dataDir = tempFolder('opas-operator-tenant-webhooks-')
let server: OpasProcess | undefined

const opas = (...args: string[]) => ranOpas(args, { DATA_DIR: dataDir })
const SHOWN_ONCE = /its webhook secret \(shown once\): ([\w-]{43})\n/

describe('beside a running server on the embedded database', () => {
  before(async () => {
    server = await startedOpas(await localServerEnv(dataDir))
  })
  after(async () => {
    // The server first: it owns the data directory until it has stopped.
    if (server) await stoppedOpas(server)
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('a webhook URL set (its secret generated, shown once), its secret renewed and set, the URL removed', async () => {
    const url = 'https://wallet.example/webhooks'
    const created = await opas('tenants', 'create', '--json', '--webhook-url', url)
    assert.equal(created.code, 0, created.output)
    const { id, webhookSecret } = JSON.parse(created.output) as Record<string, string>
    assert.match(webhookSecret!, /^[\w-]{43}$/)

    // Listed with its URL and the word that it has a secret: never the secret again.
    const listed = await opas('tenants', 'list', '--json')
    assert.equal(listed.code, 0, listed.output)
    assert.ok(!listed.output.includes(webhookSecret!), 'never shown again')
    const entry = (JSON.parse(listed.output) as { id: string; webhookUrl: string | null }[]).find(
      (t) => t.id === id
    )
    assert.equal(entry?.webhookUrl, url)

    const renewed = await opas('tenants', 'update', id!, '--new-webhook-secret')
    assert.equal(renewed.code, 0, renewed.output)
    const renewedSecret = SHOWN_ONCE.exec(renewed.output)?.[1]
    assert.ok(renewedSecret && renewedSecret !== webhookSecret, renewed.output)

    const chosen = 'a-webhook-secret-chosen-by-the-operator'
    const set = await opas('tenants', 'update', id!, '--webhook-secret', chosen)
    assert.equal(set.code, 0, set.output)
    assert.equal(set.output, `updated tenant ${id}\n`, 'nothing generated, nothing printed')

    const removed = await opas('tenants', 'update', id!, '--no-webhook-url')
    assert.equal(removed.code, 0, removed.output)
    const after = JSON.parse((await opas('tenants', 'list', '--json')).output) as {
      id: string
      webhookUrl: string | null
      hasWebhookSecret: boolean
    }[]
    const tenant = after.find((t) => t.id === id)!
    assert.equal(tenant.webhookUrl, null)
    assert.equal(tenant.hasWebhookSecret, false, 'the secret went with its URL')
  })

  test('a bad webhook URL is refused naming the option, and conflicting options by the parser: exit 2', async () => {
    const id = '0b9d4a3e-8c1f-4e2a-9b7d-6c5e4f3a2b10'
    for (const [args, message] of [
      [
        ['tenants', 'create', '--id', id, '--webhook-url', 'ftp://x'],
        /--webhook-url must be an http/
      ],
      // The secret's length is the tenant rules', refused alike on every door
      // (service-api-webhooks.test.ts); the option's name is the CLI's.
      // Refused by the parser, before the database is opened.
      [
        ['tenants', 'update', id, '--new-webhook-secret', '--webhook-secret', 'x'.repeat(20)],
        /--new-webhook-secret' cannot be used with option '--webhook-secret/
      ]
    ] as const) {
      const run = await opas(...args)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.output}`)
      assert.match(run.output, message)
    }
  })
})
