import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { isFinalizedGrant, isPendingGrant } from '@interledger/open-payments'
import { driveConsentScreen } from '../helpers/interaction-driver.js'
import { sdkClientFor } from '../helpers/sdk-client.js'
import { postJson } from '../helpers/signed-request.js'
import { localServerEnv, runOpas, tempFolder, waitForHealth } from '../helpers/opas-process.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'

const dataDir = tempFolder('opas-start-')
after(() => {
  rmSync(dataDir, { recursive: true, force: true })
})

/** `opas start` as a newcomer runs it: no configuration but ports and a data directory. */
const startOpas = (env: Record<string, string>) => runOpas(['start'], env)

const portsEnv = () => localServerEnv(dataDir)

test('starts with no configuration, generates settings once, and stops gracefully on SIGTERM', async () => {
  const env = await portsEnv()
  const first = await startOpas(env)
  await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/healthz`, first)
  for (const port of [env.INTERACTION_PORT, env.INTROSPECTION_PORT]) {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200)
  }
  // Printed once the server is up (after /healthz answers), in one write.
  const generated = await first.printed(/OPERATOR_TENANT_ID=([0-9a-f-]{36})/)
  assert.match(first.output(), /IDENTITY_SERVER_SECRET=\S{40,}/)
  // Printed apart from the log lines, saying where they are kept and how to see them again.
  const settingLines = first
    .output()
    .split('\n')
    .filter((l) => /(OPERATOR_TENANT_ID|SECRET|COOKIE_KEY|SECRETS_KEY)=/.test(l))
  assert.equal(settingLines.length, 5, settingLines.join('\n'))
  for (const line of settingLines) {
    assert.match(line, /^ {4}[A-Z_]+=\S+$/, `a line of its own, not a log line: ${line}`)
  }
  assert.match(
    first.output(),
    new RegExp(
      `kept in ${dataDir}/generated.env \\(only opas.s user may read it\\).*\\n.*npx opas secrets show`
    )
  )
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
  await clientFlows(env, generated[1]!)
  first.child.kill('SIGTERM')
  assert.equal(await first.exited, 0, first.output())
  await first.printed(/"msg":"stopped"/)

  // A second start on the same data directory reuses the stored settings and prints nothing new,
  // here in the readable format a developer's terminal gets.
  const second = await startOpas({ ...env, LOG_FORMAT: 'pretty' })
  await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/healthz`, second)
  // Logged once every listener listens, which may be after /healthz answers.
  await second.printed(/^\[[\d:.]+\] INFO: opas listening$/m)
  assert.match(second.output(), new RegExp(`^ +tenant: "${generated[1]}"$`, 'm'))
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0)
  // Read once its output has ended: nothing it printed is missed.
  await second.closed
  assert.doesNotMatch(second.output(), /OPERATOR_TENANT_ID=/)
  assert.doesNotMatch(second.output(), /^\{/m, 'no JSON line')
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

test('a DATA_DIR that cannot hold files is refused at once, naming it and what to do', async () => {
  const file = join(dataDir, 'a-file')
  writeFileSync(file, '')
  const system = [
    ['/proc/opas', /DATA_DIR \/proc\/opas is in \/proc, .*choose a folder of its own on a disk/],
    ['/sys', /DATA_DIR \/sys is in \/sys, /],
    // Closed to other users (0700), / or /etc would lock everyone else out of the machine.
    ['/', /DATA_DIR \/ is a folder of the system's: choose a folder of its own/],
    ['/etc', /DATA_DIR \/etc is a folder of the system's/]
  ] as const
  const blocked = [
    [join(file, 'data'), /DATA_DIR .*\/a-file\/data cannot be created: a file stands where one/],
    [file, /DATA_DIR .*\/a-file is a file, not a folder: choose another folder/]
  ] as const
  for (const [folder, said] of [...system, ...blocked]) {
    // The system's folders unprivileged: were the refusal broken, root would close them.
    const started = runOpas(
      ['start'],
      { DATA_DIR: folder },
      { unprivileged: !folder.includes(dataDir) }
    )
    assert.equal(await started.exited, 1, started.output())
    assert.match(started.output(), said)
    assert.doesNotMatch(started.output(), /\bat .*:\d+:\d+/, 'no stack trace')
  }
})

/**
 * What a newcomer does next: points the official client at the server they just started (its
 * default AUTH_SERVER_URL and the generated tenant) and runs the flows, answering the
 * interactive grant on the built-in consent screen.
 */
async function clientFlows(env: Record<string, string>, tenantId: string) {
  const authUrl = `http://localhost:${env.AUTH_PORT}`
  const introspect = async (token: string) =>
    (
      (await postJson(`http://localhost:${env.INTROSPECTION_PORT}/`, { access_token: token }))
        .body as { active: boolean }
    ).active
  const wallets = await startWalletAddressServer()
  try {
    const app = wallets.addClient('app', { authServer: `${authUrl}/${tenantId}` })
    const client = await sdkClientFor(app)
    const grantUrl = `${authUrl}/${tenantId}`
    const incoming = await client.grant.request(
      { url: grantUrl },
      { access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'] }] } }
    )
    assert.ok(isFinalizedGrant(incoming) && incoming.access_token)
    assert.equal(await introspect(incoming.access_token.value), true)

    const pending = await client.grant.request(
      { url: grantUrl },
      {
        access_token: {
          access: [
            {
              type: 'outgoing-payment',
              actions: ['create', 'read'],
              identifier: `${wallets.url}/alice`
            }
          ]
        },
        interact: {
          start: ['redirect'],
          finish: { method: 'redirect', uri: 'http://localhost:9/done', nonce: 'n1' }
        }
      }
    )
    assert.ok(isPendingGrant(pending))
    const waitUntil = Date.now() + (pending.continue.wait ?? 0) * 1000
    // No IdP is configured: the account holder answers on opas's own consent screen.
    const { finish, page } = await driveConsentScreen(pending.interact.redirect, 'accept')
    assert.match(page.text, /asks for access to your account/)
    const ref = new URL(finish.headers.get('location')!).searchParams.get('interact_ref')!
    // RFC 9635 §3.1: a client waits `wait` seconds (5 by default) before continuing.
    await new Promise((r) => setTimeout(r, Math.max(0, waitUntil - Date.now())))
    const outgoing = await client.grant.continue(
      { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
      { interact_ref: ref }
    )
    assert.ok(isFinalizedGrant(outgoing) && outgoing.access_token)
    assert.equal(await introspect(outgoing.access_token.value), true)

    const rotated = await client.token.rotate({
      url: outgoing.access_token.manage,
      accessToken: outgoing.access_token.value
    })
    assert.equal(await introspect(outgoing.access_token.value), false)
    assert.equal(await introspect(rotated.access_token.value), true)
    await client.token.revoke({
      url: rotated.access_token.manage,
      accessToken: rotated.access_token.value
    })
    assert.equal(await introspect(rotated.access_token.value), false)
  } finally {
    await wallets.close()
  }
}
