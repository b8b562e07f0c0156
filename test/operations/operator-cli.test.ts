import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { promisify } from 'node:util'
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
/** A grant whose one token the app revoked at its management URL (RFC 9635 §6.2). */
let tokenRevoked: { id: string; token: string }

const opas = (...args: string[]) => ranOpas(args, { DATA_DIR: dataDir })

/**
 * `opas <args>` in a pseudo-terminal `columns` wide (util-linux's script), as an operator runs it
 * at a terminal: its stdout is a TTY of that width.
 */
async function atTerminal(columns: number, ...args: string[]): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
  const command = [process.execPath, '--import', 'tsx', 'src/cli/opas.ts', ...args]
    .map(quote)
    .join(' ')
  const { stdout } = await promisify(execFile)(
    'script',
    ['-qec', `stty cols ${columns} rows 50; exec ${command}`, '/dev/null'],
    { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir } }
  )
  return stdout
}

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
  const third = await client.grant.request(
    { url: grantUrl },
    { access_token: { access: [{ type: 'quote', actions: ['read'] }] } }
  )
  assert.ok(isFinalizedGrant(third) && third.access_token)
  await client.token.revoke({
    url: third.access_token.manage,
    accessToken: third.access_token.value
  })
  assert.equal(await introspectsActive(env, third.access_token.value), false)
  await stoppedOpas(server)
  const quotes = JSON.parse((await opas('grants', 'list', '--json')).output) as {
    id: string
    access: { type: string }[]
  }[]
  tokenRevoked = {
    id: quotes.find((g) => g.access[0]?.type === 'quote')!.id,
    token: third.access_token.value
  }
})
after(() => wallets?.close())

test('grants: list, filter by wallet address, show in words, revoke; the server honours it', async () => {
  const table = await opas('grants', 'list')
  assert.equal(table.code, 0, table.output)
  assert.equal(table.output.match(/│ issued +│/g)?.length, 2, table.output)
  assert.equal(table.output.match(/│ inactive +│/g)?.length, 1, table.output)
  assert.doesNotMatch(table.output, /FINALIZED|ISSUED/, 'the status words, not the raw states')
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
    const live = JSON.parse(
      (await opas('grants', 'list', '--json', '--state', 'issued')).output
    ) as { id: string; status: string }[]
    assert.equal(live.length, 1, JSON.stringify(live))
    assert.equal(live[0]!.status, 'issued')
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

test('a token the app revoked: the grant reads inactive, and --state takes the status words', async () => {
  const ids = async (...state: string[]) =>
    (
      JSON.parse(
        (await opas('grants', 'list', '--json', ...state.flatMap((s) => ['--state', s]))).output
      ) as { id: string }[]
    ).map((g) => g.id)
  assert.deepEqual(await ids('inactive'), [tokenRevoked.id])
  assert.deepEqual(await ids('INACTIVE'), [tokenRevoked.id], 'in any case')
  assert.ok(!(await ids('issued')).includes(tokenRevoked.id), 'issued: holds a live token')
  assert.ok((await ids('FINALIZED')).includes(tokenRevoked.id), 'a raw state still filters')
  assert.ok((await ids('pending', 'inactive')).includes(tokenRevoked.id), 'repeated: any of them')
  assert.deepEqual(await ids('pending'), [])

  const shown = await opas('grants', 'show', tokenRevoked.id)
  assert.equal(shown.code, 0, shown.output)
  assert.match(shown.output, /^status {3}inactive: issued, but the app holds no live token/m)
  assert.match(
    shown.output,
    /^state {4}FINALIZED \(ISSUED\)$/m,
    'the raw state, for Rafiki operators'
  )
  assert.match(shown.output, /^interactions {2}none: this grant needed no consent$/m)
  assert.match(shown.output, /^tokens\n {2}1 {2}Issued \S+Z; revoked \S+Z$/m)
  assert.ok(!shown.output.includes(tokenRevoked.token), 'never a token value')
  const json = JSON.parse((await opas('grants', 'show', '--json', tokenRevoked.id)).output) as {
    status: string
    tokens: { revokedAt: string | null }[]
  }
  assert.equal(json.status, 'inactive')
  assert.equal(json.tokens.length, 1)
  assert.ok(json.tokens[0]!.revokedAt)
})

test('grants list at a terminal fits its width; piped, it prints every cell whole', async () => {
  const grants = JSON.parse((await opas('grants', 'list', '--json')).output) as {
    id: string
    client: string
  }[]
  for (const columns of [80, 120, 200]) {
    const output = await atTerminal(columns, 'grants', 'list')
    const lines = output.split(/\r?\n/).filter(Boolean)
    const widest = Math.max(...lines.map((l) => [...l].length))
    assert.ok(widest <= columns, `${widest} > ${columns}:\n${output}`)
    for (const g of grants) assert.ok(output.includes(g.id), `the whole id of ${g.id} to copy`)
    if (columns === 80) {
      assert.match(output, /left out to fit 80 columns: created, allows, tenant/)
    }
  }
  const piped = await opas('grants', 'list')
  assert.ok(piped.output.includes(grants[0]!.client), 'piped: the client whole')
  assert.doesNotMatch(piped.output, /…|left out/)
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
