import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { driveConsentScreen } from '../helpers/interaction-driver.js'
import { send } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/**
 * `npm run demo` as a newcomer runs it against `npm start` (no IdP: the built-in consent
 * screen), with this test in the browser's place: it opens the printed link, answers the form
 * and follows the redirects back to the demo, which must then finish the whole flow.
 */

let server: TestServer

before(async () => {
  server = await startTestServer({ IDENTITY_SERVER_URL: '' })
})
after(async () => {
  await server.close()
})

/**
 * The demo, pointed at the test server by flags, or (`through: 'config'`) by the server's own
 * configuration in a .env file (ENV_FILE), as a user who set AUTH_PORT there would run it.
 */
function runDemo(through: 'flags' | 'config' = 'flags') {
  let output = ''
  const args =
    through === 'flags'
      ? ['--auth', server.authUrl, '--introspection', server.introspectionUrl]
      : []
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' }
  if (through === 'config') {
    const envFile = join(mkdtempSync(join(tmpdir(), 'opas-demo-')), '.env')
    const { authPort, introspectionPort } = server.services.config
    writeFileSync(envFile, `AUTH_PORT=${authPort}\nINTROSPECTION_PORT=${introspectionPort}\n`)
    env.ENV_FILE = envFile
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env
  })
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { exited, output: () => output }
}

async function printedLink(demo: ReturnType<typeof runDemo>): Promise<string> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const link = /^\s+(http\S+\/interact\/\S+)$/m.exec(demo.output())?.[1]
    if (link) return link
    assert.ok(Date.now() < deadline, `no consent link printed:\n${demo.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Opens the link, answers, and follows the browser's redirects back to the demo's page. */
async function answerInBrowser(link: string, choice: 'accept' | 'decline'): Promise<void> {
  const { finish, page } = await driveConsentScreen(link, choice)
  assert.match(page.text, /opas demo app asks for access to your account/)
  assert.match(page.text, /up to USD 5\.00 each month, for 12 months, from \d+ \w+ \d{4} to/)
  assert.equal(finish.status, 302, finish.text)
  const back = await send(finish.headers.get('location')!, {})
  assert.equal(back.status, 200)
}

test('npm run demo: consent link, Accept, then continue, rotate and revoke, each step printed', async () => {
  const demo = runDemo()
  await answerInBrowser(await printedLink(demo), 'accept')
  assert.equal(await demo.exited, 0, demo.output())
  const out = demo.output()
  for (const line of [
    /hash verified/,
    /Continuing the grant/,
    /introspection: active=true/,
    /Rotating the token/,
    /introspection: old active=false, new active=true/,
    /Revoking the token/,
    /introspection: active=false/,
    /Done: the whole flow ran through opas/
  ]) {
    assert.match(out, line)
  }
})

test('npm run demo finds the server through the configuration it shares (AUTH_PORT in .env)', async () => {
  const demo = runDemo('config')
  await answerInBrowser(await printedLink(demo), 'accept')
  assert.equal(await demo.exited, 0, demo.output())
  assert.match(
    demo.output(),
    new RegExp(`Discovering opas at http://localhost:${server.services.config.authPort}`)
  )
  assert.match(demo.output(), /Done: the whole flow ran through opas/)
})

test('npm run demo: Decline ends it cleanly, without a token', async () => {
  const demo = runDemo()
  await answerInBrowser(await printedLink(demo), 'decline')
  assert.equal(await demo.exited, 0, demo.output())
  assert.match(demo.output(), /result=grant_rejected/)
  assert.doesNotMatch(demo.output(), /Continuing the grant/)
})

test('npm run demo without opas running says how to start it', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/demo.ts', '--auth', 'http://127.0.0.1:9'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } }
  )
  let output = ''
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 1)
  assert.match(
    output,
    /no opas answers at http:\/\/127\.0\.0\.1:9\/discovery \(AUTH_SERVER_URL, or --auth\): start it with `npm start`/
  )
})
