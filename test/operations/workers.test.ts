import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { after, test } from 'node:test'
import { postJson, signedRequest } from '../helpers/signed-request.js'
import { createTestDatabase, freeListenerPorts } from '../helpers/test-server.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'

function run(args: string[], env: Record<string, string>) {
  let output = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/opas.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, exited, output: () => output }
}

test('--workers refuses embedded PGlite with a clear message', async () => {
  const opas = run(['start', '--workers', '2'], { DATA_DIR: 'memory://' })
  assert.equal(await opas.exited, 1)
  assert.match(opas.output(), /--workers needs PostgreSQL/)
})

test('--workers 2 on PostgreSQL: both processes serve, and SIGTERM stops them all', async (t) => {
  const database = await createTestDatabase()
  if (!database) return t.skip('needs OPAS_TEST_DATABASE_URL')
  after(() => database.drop())
  const ports = await freeListenerPorts()
  const auth = ports.AUTH_PORT
  const tenant = randomUUID()
  const opas = run(['start', '--workers', '2'], {
    AUTH_DATABASE_URL: database.url,
    LISTEN_HOST: '127.0.0.1',
    ...ports,
    AUTH_SERVER_URL: `http://127.0.0.1:${auth}`,
    OPERATOR_TENANT_ID: tenant
  })
  const deadline = Date.now() + 120_000
  while ((opas.output().match(/"msg":"opas listening"/g) ?? []).length < 2) {
    assert.ok(Date.now() < deadline && opas.child.exitCode === null, opas.output())
    await new Promise((r) => setTimeout(r, 100))
  }
  const pids = new Set(
    [...opas.output().matchAll(/"pid":(\d+)[^\n]*"msg":"opas listening"/g)].map((m) => m[1])
  )
  assert.equal(pids.size, 2, 'two worker processes listen')

  const wallets = await startWalletAddressServer()
  after(() => wallets.close())
  const client = wallets.addClient('app')
  const grantUrl = `http://127.0.0.1:${auth}/${tenant}`
  // Requests spread over both workers all see the one database.
  for (let i = 0; i < 6; i++) {
    const grant = await signedRequest(grantUrl, {
      client,
      body: {
        client: client.walletAddress,
        access_token: { access: [{ type: 'quote', actions: ['create'] }] }
      }
    })
    assert.equal(grant.status, 200, grant.text)
    const token = (grant.body as { access_token: { value: string } }).access_token.value
    const info = await postJson(`http://127.0.0.1:${ports.INTROSPECTION_PORT}/`, {
      access_token: token
    })
    assert.equal((info.body as { active: boolean }).active, true)
  }
  opas.child.kill('SIGTERM')
  assert.equal(await opas.exited, 0, opas.output())
  assert.match(opas.output(), /all workers stopped/)
})
