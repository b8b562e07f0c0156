import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'
import { after, before, test } from 'node:test'
import type { AuditEvent, NewEvent } from '../../src/audit/events.js'
import { loadConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/logger.js'
import { openServices } from '../../src/server.js'
import {
  localServerEnv,
  ranOpas,
  startedOpas,
  tempFolder,
  type OpasProcess
} from '../helpers/opas-process.js'

/**
 * `opas events list` as an operator runs it beside a running server on the embedded database:
 * the trail newest first, its filters, its pages, a table or JSON, and a clear refusal of a
 * filter it cannot use.
 */

const dataDir = tempFolder('opas-events-')
after(() => rmSync(dataDir, { recursive: true, force: true }))
let server: OpasProcess
const tenant = randomUUID()
const grant = randomUUID()
const WALLET = 'https://wallet.example/shop'

const opas = (...args: string[]) => ranOpas(['events', 'list', ...args], { DATA_DIR: dataDir })
const listed = async (...args: string[]) => {
  const run = await opas('--json', ...args)
  assert.equal(run.code, 0, run.output)
  return JSON.parse(run.output) as AuditEvent[]
}

before(async () => {
  server = await startedOpas(await localServerEnv(dataDir))
  // Beside the server, through its database, as every operator command is.
  const opened = await openServices(
    loadConfig({ DATA_DIR: dataDir }, () => undefined),
    'test',
    createLogger('silent')
  )
  try {
    const { db, events } = opened.services
    const written: NewEvent[] = [
      {
        type: 'grant.requested',
        tenantId: tenant,
        grantId: grant,
        client: WALLET,
        actor: { kind: 'client', walletAddress: WALLET },
        requestId: 'r1',
        remoteAddress: '192.0.2.1'
      },
      {
        type: 'grant.approved',
        tenantId: tenant,
        grantId: grant,
        client: WALLET,
        actor: { kind: 'idp', tenantId: tenant }
      },
      {
        type: 'grant.revoked',
        tenantId: tenant,
        grantId: grant,
        client: WALLET,
        actor: { kind: 'cli', user: 'ops', host: 'bastion' }
      },
      {
        type: 'tenant.updated',
        tenantId: randomUUID(),
        actor: { kind: 'service-api' },
        details: { fields: ['idpConsentUrl'] }
      }
    ]
    for (const event of written) await events.record(db, event)
  } finally {
    await opened.close()
  }
})
// Not stoppedOpas: the process helper's own `after` may have ended it already.
after(async () => {
  server.child.kill('SIGTERM')
  await server.exited
})

test('newest first, with who acted, from where, and the filters an auditor asks by', async () => {
  const mine = await listed('--tenant', tenant)
  assert.deepEqual(
    mine.map((e) => [e.type, e.actorKind, e.actor]),
    [
      ['grant.revoked', 'cli', 'ops@bastion'],
      ['grant.approved', 'idp', tenant],
      ['grant.requested', 'client', WALLET]
    ]
  )
  assert.equal(mine[2]!.remoteAddress, '192.0.2.1')
  assert.deepEqual(
    (await listed('--grant', grant, '--type', 'grant.revoked')).map((e) => e.type),
    ['grant.revoked']
  )
  assert.equal((await listed('--wallet', WALLET)).length, 3)
  assert.equal((await listed('--type', 'tenant.updated', '--since', '1h')).length, 1)
  assert.equal((await listed('--tenant', tenant, '--until', '2000-01-01')).length, 0)
})

test('pages: --limit, then --before the last one', async () => {
  const first = await opas('--tenant', tenant, '--limit', '2')
  assert.equal(first.code, 0, first.output)
  const more = /^more: --before ([0-9]+)$/m.exec(first.output)?.[1]
  assert.ok(more, first.output)
  const rest = await listed('--tenant', tenant, '--before', more)
  assert.deepEqual(
    rest.map((e) => e.type),
    ['grant.requested']
  )
})

test('piped, the table prints every column whole', async () => {
  const run = await opas('--grant', grant)
  assert.equal(run.code, 0, run.output)
  assert.match(run.output, /grant\.revoked .*cli ops@bastion/)
  assert.match(run.output, new RegExp(`client ${WALLET}.*192\\.0\\.2\\.1`))
  assert.ok(run.output.includes(grant), 'the grant id whole')
  const none = await opas('--grant', randomUUID())
  assert.equal(none.output.trim(), 'no events')
})

test('a filter it cannot use is refused, naming what it takes (exit 2)', async () => {
  for (const [args, message] of [
    [['--type', 'grant.exploded'], /--type.*must be one of grant\.requested, /],
    [['--since', 'yesterday'], /--since.*ISO 8601 date or time .* or an age \(30m, 12h, 7d\)/],
    [['--grant', 'not-a-uuid'], /--grant must be a UUID/],
    [['--before', '0190c6a2-7b1e-7c3d-9a4f-5e6d7c8b9a0f'], /--before takes an event id/],
    [['--limit', '0'], /--limit.*from 1 to 200/]
  ] as const) {
    const run = await opas(...args)
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.output}`)
    assert.match(run.output, message)
    assert.doesNotMatch(run.output, /\bat \S+\.(ts|js):\d+/, 'no stack trace')
  }
})

test("a tenant changed from the command line is in the trail as the CLI's user at its host", async () => {
  const id = randomUUID()
  const made = await ranOpas(
    ['tenants', 'create', '--id', id, '--idp-consent-url', 'https://idp.example/consent'],
    { DATA_DIR: dataDir }
  )
  assert.equal(made.code, 0, made.output)
  const deleted = await ranOpas(['tenants', 'delete', id], { DATA_DIR: dataDir })
  assert.equal(deleted.code, 0, deleted.output)
  const [gone, created] = await listed('--tenant', id)
  assert.equal(created?.type, 'tenant.created')
  assert.equal(gone?.type, 'tenant.deleted')
  const who = `${userInfo().username}@${hostname()}`
  for (const event of [created!, gone!]) {
    assert.equal(event.actorKind, 'cli')
    assert.equal(event.actor, who)
    assert.equal(event.requestId, null)
  }
  assert.deepEqual(created!.details, {
    fields: ['apiSecret', 'idpConsentUrl'],
    idpConsentUrl: 'https://idp.example/consent',
    apiSecret: 'generated'
  })
})
