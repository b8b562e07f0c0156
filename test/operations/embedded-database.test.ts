import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test } from 'node:test'
import { readPostmasterPid } from '../../src/storage/embedded-cluster.js'
import { clusterDir, createEmbeddedDb } from '../../src/storage/embedded-db.js'
import { isRunning } from '../../src/storage/process-table.js'
import { localServerEnv, runOpas, startedOpas, tempFolder } from '../helpers/opas-process.js'

/**
 * The embedded PostgreSQL server as an operator meets it: it runs as an unprivileged user when
 * opas runs as root, stops with opas, is stopped when opas is killed, comes back when it is
 * killed itself, and every refusal says what to do.
 */

const root = tempFolder('opas-embedded-')
after(() => rmSync(root, { recursive: true, force: true }))
const asRoot = process.getuid?.() === 0
const ROOT_ONLY = asRoot ? false : 'opas runs as root only in this test'

/** JSON log lines: the tests read fields of them. */
const serverEnv = async (dataDir: string) => ({
  ...(await localServerEnv(dataDir)),
  LOG_FORMAT: 'json'
})

const serverPid = (dataDir: string) => Number(readPostmasterPid(clusterDir(dataDir))?.[0])

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if (await check()) return
  }
  assert.fail(`not within ${ms} ms: ${what}`)
}

const ready = async (env: Record<string, string>) => {
  try {
    return (await fetch(`http://127.0.0.1:${env.AUTH_PORT}/readyz`)).ok
  } catch {
    return false
  }
}

test('opas stops its database when it stops, and when it is killed (SIGKILL)', async () => {
  const dataDir = join(root, 'lifecycle')
  const env = await serverEnv(dataDir)
  const server = await startedOpas(env)
  const first = serverPid(dataDir)
  assert.ok(isRunning(first))
  if (asRoot) assert.match(server.output(), /the embedded database runs as nobody/)
  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 0, server.output())
  assert.equal(isRunning(first), false, 'stopped with opas')

  const killed = await startedOpas(env)
  const second = serverPid(dataDir)
  assert.ok(isRunning(second))
  killed.child.kill('SIGKILL')
  await killed.exited
  // No exit hook runs on SIGKILL: the watchdog stops it.
  await until('the server of a killed opas stops', () => !isRunning(second), 10_000)
})

test('a database left running by a killed opas is stopped by the next start, which serves', async () => {
  const dataDir = join(root, 'orphan')
  const env = await serverEnv(dataDir)
  const killed = await startedOpas(env)
  const orphan = serverPid(dataDir)
  // Everything opas started goes but the server: as when the watchdog itself was killed.
  const watchdogs = execFileSync('pgrep', ['-f', `opas-embedded-watchdog ${killed.child.pid} `])
    .toString()
    .trim()
    .split('\n')
  for (const pid of watchdogs) process.kill(Number(pid), 'SIGKILL')
  killed.child.kill('SIGKILL')
  await killed.exited
  await sleep(1500)
  assert.ok(isRunning(orphan), 'the server outlived opas')

  const next = await startedOpas(env)
  try {
    assert.match(next.output(), /stopping the embedded database an earlier opas left running/)
    assert.equal(isRunning(orphan), false)
    assert.notEqual(serverPid(dataDir), orphan)
    assert.ok(await ready(env))
  } finally {
    next.child.kill('SIGTERM')
    await next.exited
  }
})

test('a database killed under a running opas is restarted by it, with nothing lost', async () => {
  const dataDir = join(root, 'restart')
  const env = await serverEnv(dataDir)
  const server = await startedOpas(env)
  try {
    const killed = serverPid(dataDir)
    process.kill(killed, 'SIGKILL')
    await until('opas restarts its database', async () => {
      const now = serverPid(dataDir)
      return Number.isInteger(now) && now !== killed && (await ready(env))
    })
    assert.match(server.output(), /the embedded database stopped unexpectedly: restarting it/)
    assert.match(server.output(), /the embedded database is back/)
    // The settings generated on the first start are still there: the CLI reads them beside it.
    const show = runOpas(['secrets', 'show'], { DATA_DIR: dataDir })
    assert.equal(await show.exited, 0, show.output())
    assert.match(show.output(), /^OPERATOR_TENANT_ID=/m)
  } finally {
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0, server.output())
  }
})

test(
  'as root, the database runs as nobody, or as EMBEDDED_DATABASE_USER',
  { skip: ROOT_ONLY },
  async () => {
    const dataDir = join(root, 'as-nobody')
    const db = await createEmbeddedDb(dataDir, { poolSize: 2 })
    try {
      const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString())
      assert.equal(statSync(clusterDir(dataDir)).uid, nobody)
      const { rows } = await db.query<{ user: string }>('select current_user as user')
      assert.equal(rows[0]!.user, 'postgres')
    } finally {
      await db.close()
    }
    await assert.rejects(
      createEmbeddedDb(join(root, 'no-such-user'), { poolSize: 2, runAs: 'opas-no-such-user' }),
      /the user opas-no-such-user does not exist here: set EMBEDDED_DATABASE_USER to an existing unprivileged user/
    )
    await assert.rejects(
      createEmbeddedDb(join(root, 'as-root'), { poolSize: 2, runAs: 'root' }),
      /EMBEDDED_DATABASE_USER=root is root: PostgreSQL refuses to run as root/
    )
  }
)

test(
  'as root, a data directory the database user cannot reach is refused, saying what to do',
  { skip: ROOT_ONLY },
  async () => {
    const closed = join(root, 'closed')
    mkdirSync(closed, { mode: 0o700 })
    chmodSync(closed, 0o700)
    await assert.rejects(
      createEmbeddedDb(join(closed, 'data'), { poolSize: 2 }),
      new RegExp(
        `runs as nobody; nobody may not enter ${closed} on the way to .*chmod o\\+x ${closed}.*EMBEDDED_DATABASE_USER`
      )
    )
  }
)
