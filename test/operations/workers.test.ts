import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { randomUUID } from 'node:crypto'
import { after, test } from 'node:test'
import { consoleClient } from '../helpers/console-client.js'
import { POSTGRES_ONLY } from '../helpers/requirements.js'
import { signedRequest } from '../helpers/signed-request.js'
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
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, exited, output: () => output }
}

/** One request on a connection of its own: node:cluster hands each connection to the next worker. */
function onNewConnection(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          ...(payload ? { 'content-type': 'application/json', accept: 'application/json' } : {}),
          ...headers
        }
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      }
    )
    req.on('error', reject)
    req.end(payload)
  })
}

test('--workers refuses the embedded database with a clear message', async () => {
  const opas = run(['start', '--workers', '2'], { DATA_DIR: 'memory://' })
  assert.equal(await opas.exited, 1)
  assert.match(opas.output(), /--workers needs PostgreSQL/)
})

test('--workers 2 on PostgreSQL: both processes serve, and SIGTERM stops them all', async (t) => {
  const database = await createTestDatabase()
  if (!database) return t.skip(POSTGRES_ONLY)
  after(() => database.drop())
  const ports = await freeListenerPorts()
  const auth = ports.AUTH_PORT
  const tenant = randomUUID()
  const adminSecret = `workers-admin-secret-${randomUUID()}`
  const opas = run(['start', '--workers', '2'], {
    AUTH_DATABASE_URL: database.url,
    LISTEN_HOST: '127.0.0.1',
    ...ports,
    AUTH_SERVER_URL: `http://127.0.0.1:${auth}`,
    OPERATOR_TENANT_ID: tenant,
    ADMIN_API_SECRET: adminSecret
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
    const info = await onNewConnection(Number(ports.INTROSPECTION_PORT), 'POST', '/', {
      access_token: token
    })
    assert.equal((JSON.parse(info.text) as { active: boolean }).active, true)
  }
  // The introspections were spread over both workers (one connection each), yet every scrape,
  // whichever worker takes it, counts all six: the primary sums the workers' registries.
  for (let i = 0; i < 4; i++) {
    const scrape = await onNewConnection(Number(ports.ADMIN_PORT), 'GET', '/metrics')
    assert.equal(scrape.status, 200, scrape.text)
    assert.match(scrape.text, /^opas_introspections_total\{result="active"\} 6$/m)
    assert.match(scrape.text, /^opas_grants_issued_total\{type="quote"\} 6$/m)
  }
  // So does the console's last hour, whichever worker draws it.
  const operator = consoleClient(`http://127.0.0.1:${ports.ADMIN_PORT}`)
  assert.equal((await operator.signIn(tenant, adminSecret)).status, 303)
  const cookie = `opas_console=${operator.jar.get('opas_console')!}`
  for (let i = 0; i < 4; i++) {
    const charts = await onNewConnection(
      Number(ports.ADMIN_PORT),
      'GET',
      '/overview/charts',
      undefined,
      {
        cookie
      }
    )
    assert.equal(charts.status, 200, charts.text)
    assert.match(charts.text, /6 active, 0 inactive since \d\d:\d\d, when the server started/)
    assert.match(
      charts.text,
      /Grants issued<\/strong> <span class="oc-total">6 since \d\d:\d\d, when the server started/
    )
  }
  opas.child.kill('SIGTERM')
  assert.equal(await opas.exited, 0, opas.output())
  assert.match(opas.output(), /all workers stopped/)
})
