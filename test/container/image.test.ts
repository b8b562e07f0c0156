import assert from 'node:assert/strict'
import {
  chownSync,
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { isFinalizedGrant, isPendingGrant } from '@interledger/open-payments'
import { configSchema } from '../../src/config/index.js'
import { driveConsentScreen } from '../helpers/interaction-driver.js'
import { tempFolder } from '../helpers/opas-process.js'
import { postgresOnly } from '../helpers/requirements.js'
import { outgoingPaymentAccess, sdkClientFor } from '../helpers/sdk-client.js'
import { postJson } from '../helpers/signed-request.js'
import { createTestDatabase, freeListenerPorts } from '../helpers/test-server.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'
import { killAllInImage, ranInImage, runInImage, type ImageRun } from './chroot-run.js'
import { buildImage, type BuiltImage } from './image-build.js'
import { runCommand } from './podman.js'

/**
 * The container image (Dockerfile), built from this checkout and run as a container runtime
 * runs it: its entrypoint as PID 1, as the image's user, with its environment, its volume and
 * its HEALTHCHECK (chroot-run.ts says how, where no runtime can start containers). An operator's
 * first start, an Open Payments client's grant and rotation with the official SDK, `docker stop`
 * (SIGTERM), and a second start on the same volume. Not part of `npm test` (it takes a minute or
 * two, and needs podman and mmdebstrap as root): `npm run test:container`, run by .ci/run.
 */

let image: BuiltImage
const volume = tempFolder('opas-volume-')
let wallets: Awaited<ReturnType<typeof startWalletAddressServer>>

before(
  async () => {
    assert.equal(process.getuid?.(), 0, 'the container test runs as root (podman, chroot, mounts)')
    for (const program of ['podman', 'mmdebstrap', 'unshare', 'chroot']) {
      await runCommand('sh', ['-c', `command -v ${program}`]).catch(() =>
        assert.fail(`the container test needs ${program}: apt-get install podman mmdebstrap`)
      )
    }
    image = await buildImage(join(import.meta.dirname, '..', '..'))
    const { size, baseSize, seconds, baseMade } = image
    const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`
    console.log(
      `container image: ${mib(size)} (${mib(size - baseSize)} above its base of ${mib(baseSize)}); ` +
        `base ${baseMade ? 'made' : 'from the cache'} and imported in ${seconds.base.toFixed(1)} s, ` +
        `image built in ${seconds.build.toFixed(1)} s`
    )
    // A named volume starts as a copy of the image's folder: its owner and mode.
    const [target] = Object.keys(image.config.Volumes)
    const folder = statSync(join(image.root, target!))
    chownSync(volume, folder.uid, folder.gid)
    chmodSync(volume, folder.mode & 0o7777)
    wallets = await startWalletAddressServer()
  },
  { timeout: 15 * 60_000 }
)
after(async () => {
  killAllInImage()
  await wallets?.close()
  await image?.close()
  rmSync(volume, { recursive: true, force: true })
})

const env = (image: BuiltImage) =>
  Object.fromEntries(image.config.Env.map((line) => line.split(/=(.*)/s).slice(0, 2)))
const ports = [
  configSchema.authPort,
  configSchema.introspectionPort,
  configSchema.adminPort,
  configSchema.interactionPort,
  configSchema.serviceApiPort
]

test('the image: an unprivileged user, the five ports, a volume, a HEALTHCHECK without curl', () => {
  const { config } = image
  const [uid, gid] = config.User.split(':').map(Number)
  assert.ok(uid! > 0 && gid! > 0, `runs as ${config.User}, not root`)
  assert.equal(env(image).LISTEN_HOST, '0.0.0.0')
  assert.deepEqual(Object.keys(config.Volumes), [env(image).DATA_DIR])
  assert.deepEqual(
    Object.keys(config.ExposedPorts).sort(),
    ports.map((spec) => `${String(spec.default)}/tcp`).sort()
  )
  assert.deepEqual(config.Healthcheck?.Test.slice(0, 2), ['CMD', 'node'])
  const secrets = Object.values(configSchema).filter((spec) => spec.secret)
  for (const spec of secrets) assert.ok(!(spec.env in env(image)), `${spec.env} is not baked in`)
  const data = statSync(join(image.root, env(image).DATA_DIR))
  assert.deepEqual([data.uid, data.gid, data.mode & 0o7777], [uid, gid, 0o700])
})

test('the image holds the compiled server and production dependencies only, none of it writable by its user', () => {
  const app = join(image.root, image.config.WorkingDir)
  assert.ok(existsSync(join(app, 'dist/cli/opas.js')))
  for (const dev of ['typescript', 'tsx', 'eslint', '@interledger/open-payments']) {
    assert.ok(!existsSync(join(app, 'node_modules', dev)), `no ${dev}`)
  }
  assert.ok(!existsSync(join(app, 'src')), 'no TypeScript sources')
  // The test's registry settings and npm cache were bound into the RUN steps only: podman
  // leaves the mount points, empty.
  for (const path of ['usr/local/etc/npmrc', 'run/opas-build/ca.pem', 'root/.npm']) {
    const st = existsSync(join(image.root, path)) ? statSync(join(image.root, path)) : undefined
    if (st?.isDirectory()) assert.deepEqual(readdirSync(join(image.root, path)), [], `/${path}`)
    else assert.ok(!st || st.size === 0, `/${path} is empty`)
  }
  assert.ok(!existsSync(join(app, '.env')) && !existsSync(join(app, '.npmrc')))
  const writable: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const st = lstatSync(path)
      if (st.uid !== 0 || (!st.isSymbolicLink() && (st.mode & 0o022) !== 0)) writable.push(path)
      if (st.isDirectory()) walk(path)
    }
  }
  walk(app)
  assert.deepEqual(writable.slice(0, 5), [], `${writable.length} files its user could change`)
  // The runs below have a read-only root (`docker run --read-only --tmpfs /tmp`): opas writes
  // only to its volume.
  assert.throws(() => writeFileSync(join(image.root, 'probe'), ''), { code: 'EROFS' })
})

let server: Record<string, string>
let tenantId: string
let token: { value: string; manage: string }
let client: Awaited<ReturnType<typeof sdkClientFor>>

async function serverEnv(): Promise<Record<string, string>> {
  const listeners = await freeListenerPorts()
  return {
    ...listeners,
    // The host's network: only loopback here (the image's 0.0.0.0 is checked above).
    LISTEN_HOST: '127.0.0.1',
    AUTH_SERVER_URL: `http://127.0.0.1:${listeners.AUTH_PORT}`,
    WAIT_SECONDS: '0'
  }
}

const introspect = async (value: string) =>
  (
    (await postJson(`http://127.0.0.1:${server.INTROSPECTION_PORT}/`, { access_token: value }))
      .body as { active: boolean }
  ).active

/** The image's entrypoint on the volume, once its auth listener's /readyz answers 200. */
async function started(extra: Record<string, string> = {}): Promise<ImageRun> {
  const run = runInImage(image.root, image.config, { volume, env: { ...server, ...extra } })
  // Within the test's own timeout (120 s), so that a failure shows what the server printed.
  const deadline = Date.now() + 90_000
  const ended = run.exited.then(() => true)
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${server.AUTH_PORT}/readyz`, {
      signal: AbortSignal.timeout(5000)
    }).catch(() => undefined)
    if (res?.status === 200) return run
    if (Date.now() > deadline || (await Promise.race([ended, sleepFalse(100)]))) {
      run.kill()
      assert.fail(`the image's server did not become ready:\n${run.output()}`)
    }
  }
}
const sleepFalse = (ms: number) => new Promise<false>((r) => setTimeout(() => r(false), ms))

/** What the image's HEALTHCHECK command answers now. */
const healthcheck = () =>
  ranInImage(image.root, image.config, {
    volume,
    env: server,
    command: image.config.Healthcheck!.Test.slice(1)
  })

/** `docker stop`: SIGTERM to PID 1, which must stop by itself, its database cleanly first. */
async function stopped(run: ImageRun): Promise<string> {
  await run.signal('SIGTERM')
  assert.equal(await run.exited, 0, run.output())
  await run.printed(/"signal":"SIGTERM"[^\n]*shutting down/)
  await run.printed(/"msg":"stopped"/)
  assert.ok(!existsSync(join(volume, 'postgres/postmaster.pid')), 'PostgreSQL shut down cleanly')
  return run.output()
}

test('first start on the embedded database: ready, healthy, a grant and a rotation with the official SDK, a clean stop', async () => {
  server = await serverEnv()
  assert.notEqual((await healthcheck()).code, 0, 'unhealthy before it runs')
  const run = await started()
  tenantId = (await run.printed(/OPERATOR_TENANT_ID=(\S+)/))[1]!
  // PID 1, on the embedded database, with libsodium (its prebuilt binary kept for Linux).
  await run.printed(/"pid":1,[^\n]*"database":"embedded"[^\n]*"ed25519":"libsodium"/)
  const health = await healthcheck()
  assert.equal(health.code, 0, health.output)

  const grantUrl = `${server.AUTH_SERVER_URL}/${tenantId}`
  client = await sdkClientFor(wallets.addClient('app', { authServer: grantUrl }))
  const pending = await client.grant.request(
    { url: grantUrl },
    {
      access_token: { access: [outgoingPaymentAccess(`${wallets.url}/alice`)] },
      interact: {
        start: ['redirect'],
        finish: { method: 'redirect', uri: 'http://127.0.0.1:9/done', nonce: 'n1' }
      }
    }
  )
  assert.ok(isPendingGrant(pending))
  // No IdP configured: the account holder answers on opas's own consent screen.
  const { finish } = await driveConsentScreen(pending.interact.redirect, 'accept')
  const ref = new URL(finish.headers.get('location')!).searchParams.get('interact_ref')!
  const grant = await client.grant.continue(
    { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
    { interact_ref: ref }
  )
  assert.ok(isFinalizedGrant(grant) && grant.access_token)
  const rotated = await client.token.rotate({
    url: grant.access_token.manage,
    accessToken: grant.access_token.value
  })
  token = rotated.access_token
  assert.equal(await introspect(grant.access_token.value), false)
  assert.equal(await introspect(token.value), true)

  await stopped(run)
  const down = await healthcheck()
  assert.notEqual(down.code, 0, 'unhealthy once stopped')
  assert.match(down.output, /unhealthy: .*readyz/)
})

test('a second start on the same volume keeps the database and the generated settings', async () => {
  assert.ok(token, 'the first start ran')
  const run = await started()
  assert.equal(await introspect(token.value), true, 'the rotated token is still active')
  const again = await client.token.rotate({ url: token.manage, accessToken: token.value })
  assert.equal(await introspect(token.value), false)
  assert.equal(await introspect(again.access_token.value), true)
  const output = await stopped(run)
  assert.match(output, new RegExp(`"tenant":"${tenantId}"`), 'the same operator tenant')
  assert.doesNotMatch(output, /generated these settings/, 'nothing generated again')
  // Everything in the volume is the image user's, PostgreSQL's files too; closed to others.
  const uid = Number(image.config.User.split(':')[0])
  for (const path of [volume, join(volume, 'postgres'), join(volume, 'generated.env')]) {
    const st = statSync(path)
    assert.equal(st.uid, uid, path)
    assert.equal(st.mode & 0o077, 0, `${path} is closed to others`)
  }
})

test(
  'AUTH_DATABASE_URL runs the image on an external PostgreSQL',
  { skip: postgresOnly() },
  async () => {
    const database = (await createTestDatabase())!
    try {
      server = await serverEnv()
      const run = await started({ AUTH_DATABASE_URL: database.url })
      await run.printed(/"database":"postgres"/)
      await stopped(run)
    } finally {
      await database.drop()
    }
  }
)
