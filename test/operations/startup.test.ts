import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { freePort } from '../helpers/test-server.js'

const dataDir = mkdtempSync(join(tmpdir(), 'opas-start-'))
after(() => rmSync(dataDir, { recursive: true, force: true }))

interface Started {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** `opas start` as a newcomer runs it: no configuration but ports and a data directory. */
async function startOpas(env: Record<string, string>): Promise<Started> {
  let output = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/opas.ts', 'start'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function waitForHealth(url: string, started: Started): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (started.child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.fail(`opas did not become healthy:\n${started.output()}`)
}

async function portsEnv() {
  const [auth, interaction, introspection] = await Promise.all([freePort(), freePort(), freePort()])
  return {
    AUTH_PORT: String(auth),
    INTERACTION_PORT: String(interaction),
    INTROSPECTION_PORT: String(introspection),
    LISTEN_HOST: '127.0.0.1',
    DATA_DIR: dataDir
  }
}

test('starts with no configuration, generates settings once, and stops gracefully on SIGTERM', async () => {
  const env = await portsEnv()
  const first = await startOpas(env)
  await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/healthz`, first)
  for (const port of [env.INTERACTION_PORT, env.INTROSPECTION_PORT]) {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200)
  }
  const generated = first.output().match(/OPERATOR_TENANT_ID=([0-9a-f-]{36})/)
  assert.ok(generated, `the generated operator tenant id is printed:\n${first.output()}`)
  assert.match(first.output(), /IDENTITY_SERVER_SECRET=\S{40,}/)
  // The grant endpoint of the generated tenant exists (an unsigned request is refused by the
  // signature check, not by an unknown-tenant 404).
  const grant = await fetch(`http://127.0.0.1:${env.AUTH_PORT}/${generated[1]}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client: 'http://127.0.0.1:9/app',
      access_token: { access: [{ type: 'quote', actions: ['create'] }] }
    })
  })
  assert.equal(grant.status, 401)
  first.child.kill('SIGTERM')
  assert.equal(await first.exited, 0, first.output())
  assert.match(first.output(), /"msg":"stopped"/)

  // A second start on the same data directory reuses the stored settings and prints nothing new.
  const second = await startOpas(env)
  await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/healthz`, second)
  assert.doesNotMatch(second.output(), /OPERATOR_TENANT_ID=/)
  assert.match(second.output(), new RegExp(`"tenant":"${generated[1]}"`))
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0)
})

test('an invalid configuration is refused at start with every problem listed at once', async () => {
  const started = await startOpas({
    AUTH_PORT: 'abc',
    WAIT_SECONDS: '-1',
    NODE_ENV: 'production',
    DATA_DIR: dataDir
  })
  assert.equal(await started.exited, 1)
  const out = started.output()
  for (const name of [
    'AUTH_PORT',
    'WAIT_SECONDS',
    'AUTH_SERVER_URL',
    'IDENTITY_SERVER_SECRET',
    'COOKIE_KEY'
  ]) {
    assert.match(out, new RegExp(name), `${name} is reported:\n${out}`)
  }
})
