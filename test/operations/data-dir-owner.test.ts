import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { isFinalizedGrant } from '@interledger/open-payments'
import {
  answers,
  introspectsActive,
  localServerEnv,
  runOpas,
  startedOpas,
  stoppedOpas,
  tempFolder
} from '../helpers/opas-process.js'
import { sdkClientFor } from '../helpers/sdk-client.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'

/**
 * One embedded data directory has one owner (issue 13): a second server on it, or a CLI command
 * that would open it, is refused at once naming the owner, and nothing the first wrote is lost.
 */

const dataDir = tempFolder('opas-owner-')
after(() => rmSync(dataDir, { recursive: true, force: true }))

test('a second server and a migration are refused while one runs, the operator commands use its database, nothing is lost', async () => {
  const env = await localServerEnv(dataDir)
  const first = await startedOpas(env)
  const tenantId = (await first.printed(/OPERATOR_TENANT_ID=([0-9a-f-]{36})/))[1]
  assert.ok(tenantId, first.output())
  const secret = /IDENTITY_SERVER_SECRET=(\S+)/.exec(first.output())?.[1]

  // A token issued through the first server.
  const wallets = await startWalletAddressServer()
  after(() => wallets.close())
  // The default AUTH_SERVER_URL names localhost: the client is told that grant endpoint.
  const grantUrl = `http://localhost:${env.AUTH_PORT}/${tenantId}`
  const app = wallets.addClient('app', { authServer: grantUrl })
  const grant = await (
    await sdkClientFor(app)
  ).grant.request(
    { url: grantUrl },
    { access_token: { access: [{ type: 'incoming-payment', actions: ['read'] }] } }
  )
  assert.ok(isFinalizedGrant(grant) && grant.access_token)
  const token = grant.access_token.value

  // The second server, on other ports, refuses at once and never listens.
  const otherEnv = { ...(await localServerEnv(dataDir)) }
  const second = runOpas(['start'], otherEnv)
  assert.equal(await second.exited, 1, second.output())
  const inUse = new RegExp(
    `the data directory ${dataDir} is in use by opas process ${first.child.pid} \\(opas start, since `
  )
  assert.match(second.output(), inUse)
  assert.doesNotMatch(second.output(), /opas listening/, 'refused before listening')
  assert.equal(await answers(`http://127.0.0.1:${otherEnv.AUTH_PORT}/healthz`), false)

  // A migration would change the schema under the running server: refused the same way. The
  // operator's other commands use the running server's database through its socket.
  const migrate = runOpas(['migrate'], { DATA_DIR: dataDir })
  assert.equal(await migrate.exited, 1, migrate.output())
  assert.match(migrate.output(), inUse)
  const check = runOpas(['config', 'check'], { DATA_DIR: dataDir })
  assert.equal(await check.exited, 0, check.output())
  assert.match(check.output(), /database reachable, schema up to date/)
  const beside = runOpas(['secrets', 'show'], { DATA_DIR: dataDir })
  assert.equal(await beside.exited, 0, beside.output())
  assert.match(beside.output(), new RegExp(`^OPERATOR_TENANT_ID=${tenantId}$`, 'm'))
  const tenants = runOpas(['tenants', 'list', '--json'], { DATA_DIR: dataDir })
  assert.equal(await tenants.exited, 0, tenants.output())
  assert.ok(tenants.output().includes(tenantId), tenants.output())

  assert.equal(await introspectsActive(env, token), true)
  await stoppedOpas(first)
  assert.equal(existsSync(join(dataDir, 'opas.lock')), false, 'the lock is released on stop')

  // Stopped: the operator reads the generated settings, and a new server has the token.
  const show = runOpas(['secrets', 'show'], { DATA_DIR: dataDir })
  assert.equal(await show.exited, 0, show.output())
  assert.match(show.output(), new RegExp(`^OPERATOR_TENANT_ID=${tenantId}$`, 'm'))
  assert.ok(secret && show.output().includes(`IDENTITY_SERVER_SECRET=${secret}\n`))
  const third = await startedOpas(env)
  assert.equal(
    await introspectsActive(env, token),
    true,
    'the token issued by the first server is kept'
  )
  await stoppedOpas(third)
})

test('a server killed without stopping leaves its lock behind; the next start takes it over', async () => {
  const env = await localServerEnv(dataDir)
  const killed = await startedOpas(env)
  killed.child.kill('SIGKILL')
  await killed.exited
  assert.equal(existsSync(join(dataDir, 'opas.lock')), true)
  const next = await startedOpas(env)
  assert.match(
    next.output(),
    new RegExp(
      `"pid":${killed.child.pid}[,}].*data directory lock left by a process that is no longer running: taken over`
    )
  )
  await stoppedOpas(next)
})
