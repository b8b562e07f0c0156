import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { isFinalizedGrant } from '@interledger/open-payments'
import {
  introspectsActive,
  localServerEnv,
  ranOpas,
  startedOpas,
  stoppedOpas,
  tempFolder
} from '../helpers/opas-process.js'
import { sdkClientFor } from '../helpers/sdk-client.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'

/**
 * `opas tenants …` and `opas grants …` as an operator runs them on the embedded database,
 * between two runs of the server and beside a running one: what a client was granted is found,
 * read in words and revoked, and the server honours it.
 */

const dataDir = tempFolder('opas-operator-')
after(() => rmSync(dataDir, { recursive: true, force: true }))
let env: Record<string, string>
let tenantId: string
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>
const tokens: string[] = []

const opas = (...args: string[]) => ranOpas(args, { DATA_DIR: dataDir })

before(async () => {
  env = await localServerEnv(dataDir)
  const server = await startedOpas(env)
  tenantId = (await server.printed(/OPERATOR_TENANT_ID=([0-9a-f-]{36})/))[1]!
  wallets = await startWalletAddressServer()
  const grantUrl = `http://localhost:${env.AUTH_PORT}/${tenantId}`
  const app = wallets.addClient('shop', { authServer: grantUrl, publicName: 'Corner Shop' })
  const client = await sdkClientFor(app)
  for (const access of [
    [{ type: 'incoming-payment' as const, actions: ['read' as const] }],
    [
      {
        type: 'incoming-payment' as const,
        actions: ['create' as const, 'read' as const],
        identifier: `${wallets.url}/alice`
      }
    ]
  ]) {
    const grant = await client.grant.request({ url: grantUrl }, { access_token: { access } })
    assert.ok(isFinalizedGrant(grant) && grant.access_token)
    tokens.push(grant.access_token.value)
  }
  await stoppedOpas(server)
})
after(() => wallets?.close())

test('grants: list, filter by wallet address, show in words, revoke; the server honours it', async () => {
  const table = await opas('grants', 'list')
  assert.equal(table.code, 0, table.output)
  assert.equal(table.output.match(/FINALIZED \(ISSUED\)/g)?.length, 2, table.output)
  assert.match(
    table.output,
    /Receive payments: create incoming payments, see the incoming payments it made on http:\/\/127\.0\.0\.1:\d+\/alice/
  )

  const alice = JSON.parse(
    (await opas('grants', 'list', '--json', '--wallet', `${wallets.url}/alice`)).output
  ) as { id: string; state: string }[]
  assert.equal(alice.length, 1)
  const id = alice[0]!.id

  const shown = await opas('grants', 'show', id)
  assert.equal(shown.code, 0, shown.output)
  assert.match(shown.output, /^client {3}http:\/\/127\.0\.0\.1:\d+\/shop$/m)
  assert.match(shown.output, /^ {2}Receive payments: create incoming payments/m)

  const revoked = await opas('grants', 'revoke', id)
  assert.equal(revoked.code, 0, revoked.output)
  assert.match(revoked.output, new RegExp(`revoked grant ${id}`))

  const server = await startedOpas(env)
  try {
    assert.equal(await introspectsActive(env, tokens[1]!), false, "the revoked grant's token")
    assert.equal(await introspectsActive(env, tokens[0]!), true, "the other grant's token")
  } finally {
    await stoppedOpas(server)
  }
})

test('beside a running server: a grant revoked from the command line is inactive at once', async () => {
  const server = await startedOpas(env)
  try {
    assert.equal(await introspectsActive(env, tokens[0]!), true)
    const issued = JSON.parse(
      (await opas('grants', 'list', '--json', '--state', 'FINALIZED')).output
    )
    const live = (issued as { id: string; finalizationReason: string }[]).filter(
      (g) => g.finalizationReason === 'ISSUED'
    )
    assert.equal(live.length, 1, JSON.stringify(issued))
    const revoked = await opas('grants', 'revoke', live[0]!.id)
    assert.equal(revoked.code, 0, revoked.output)
    assert.equal(
      await introspectsActive(env, tokens[0]!),
      false,
      'revoked through the running server'
    )
  } finally {
    await stoppedOpas(server)
  }
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
    [['grants', 'list', '--state', 'DONE'], /--state must be one of/],
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
