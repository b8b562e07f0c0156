import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync
} from 'node:fs'
import pg from 'pg'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test } from 'node:test'
import { readPostmasterPid } from '../../src/storage/embedded/postmaster-pid.js'
import { clusterDir, createEmbeddedDb } from '../../src/storage/embedded/embedded-db.js'
import { isRunning, processUid } from '../../src/storage/embedded/process-table.js'
import { postgresBinaries } from '../../src/storage/embedded/postgres-binaries.js'
import { localServerEnv, runOpas, startedOpas, tempFolder } from '../helpers/opas-process.js'

/**
 * The embedded PostgreSQL server as an operator meets it: it runs as a user of its own when
 * opas runs as root, requires a password only opas holds, stops with opas, is stopped when opas is killed, comes back when it is
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
  if (asRoot) assert.match(server.output(), /the embedded database runs as opas-postgres/)
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
    await server.printed(/the embedded database is back/)
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
  'as root, the database runs as a user of its own (opas-postgres), never one others share',
  { skip: ROOT_ONLY },
  async () => {
    const dataDir = join(root, 'as-dedicated')
    const db = await createEmbeddedDb(dataDir, { poolSize: 2 })
    try {
      const dedicated = Number(execFileSync('id', ['-u', 'opas-postgres']).toString())
      assert.equal(statSync(clusterDir(dataDir)).uid, dedicated)
      assert.equal(processUid(serverPid(dataDir)), dedicated)
      const { rows } = await db.query<{ user: string }>('select current_user as user')
      assert.equal(rows[0]!.user, 'postgres')
    } finally {
      await db.close()
    }
    await assert.rejects(
      createEmbeddedDb(join(root, 'no-such-user'), { poolSize: 2, runAs: 'opas-no-such-user' }),
      /EMBEDDED_DATABASE_USER=opas-no-such-user: the user opas-no-such-user does not exist here/
    )
    await assert.rejects(
      createEmbeddedDb(join(root, 'as-root'), { poolSize: 2, runAs: 'root' }),
      /EMBEDDED_DATABASE_USER=root is root: PostgreSQL refuses to run as root/
    )
    await assert.rejects(
      createEmbeddedDb(join(root, 'as-nobody'), { poolSize: 2, runAs: 'nobody' }),
      /EMBEDDED_DATABASE_USER=nobody: other processes run as nobody/
    )
  }
)

test('the database requires the password opas keeps, in a file only opas may read', async () => {
  const dataDir = join(root, 'password')
  const db = await createEmbeddedDb(dataDir, { poolSize: 2 })
  try {
    const file = join(dataDir, 'postgres.password')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(file).uid, process.getuid!())
    assert.equal(statSync(dataDir).mode & 0o077, 0, 'DATA_DIR is closed to others')
    const password = readFileSync(file, 'utf8').trim()
    const host = `/proc/${serverPid(dataDir)}/cwd`
    const attempt = (pw: string) =>
      new pg.Client({ host, user: 'postgres', database: 'postgres', password: pw }).connect()
    await assert.rejects(attempt('not-the-password'), /password authentication failed/)
    const client = new pg.Client({ host, user: 'postgres', database: 'postgres', password })
    await client.connect()
    await client.end()
    assert.match(
      readFileSync(join(clusterDir(dataDir), 'pg_hba.conf'), 'utf8'),
      /^local all postgres scram-sha-256$/m
    )
    assert.doesNotMatch(readFileSync(join(clusterDir(dataDir), 'pg_hba.conf'), 'utf8'), /trust/)
  } finally {
    await db.close()
  }
})

test(
  'as root, a database an earlier version ran as nobody, without a password, is taken over',
  { skip: ROOT_ONLY },
  async () => {
    // As the earlier version made it: initdb as nobody, trusting the socket's owner, in folders
    // nobody may enter.
    const legacyRoot = tempFolder('opas-legacy-')
    after(() => rmSync(legacyRoot, { recursive: true, force: true }))
    chmodSync(legacyRoot, 0o711)
    const dataDir = join(legacyRoot, 'data')
    const cluster = clusterDir(dataDir)
    mkdirSync(cluster, { recursive: true, mode: 0o700 })
    chmodSync(dataDir, 0o711)
    execFileSync('chown', ['nobody', cluster])
    const initdb = join(postgresBinaries().root, 'bin', 'initdb')
    execFileSync(
      'setpriv',
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        initdb,
        '-D',
        cluster,
        '-U',
        'postgres',
        '--auth',
        'trust',
        '--no-sync'
      ],
      { stdio: 'ignore', cwd: '/' }
    )
    const db = await createEmbeddedDb(dataDir, { poolSize: 2 })
    try {
      assert.equal(Number((await db.query<{ one: number }>('select 1 as one')).rows[0]!.one), 1)
      const dedicated = Number(execFileSync('id', ['-u', 'opas-postgres']).toString())
      assert.equal(statSync(cluster).uid, dedicated)
      assert.equal(statSync(join(cluster, 'PG_VERSION')).uid, dedicated)
      assert.equal(statSync(dataDir).mode & 0o077, 0, 'DATA_DIR is closed to others')
      assert.doesNotMatch(readFileSync(join(cluster, 'pg_hba.conf'), 'utf8'), /trust/)
    } finally {
      await db.close()
    }
  }
)

/** Processes whose working directory is `dir` or under it (Linux /proc), with their names. */
function processesIn(dir: string): { pid: number; name: string }[] {
  const found: { pid: number; name: string }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`)
      if (cwd === dir || cwd.startsWith(`${dir}/`)) {
        found.push({ pid: Number(entry), name: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() })
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found
}

test('Ctrl-C during the first database creation stops it and leaves nothing half-made', async () => {
  const dataDir = join(root, 'interrupted')
  const env = await serverEnv(dataDir)
  const server = runOpas(['start'], env)
  const scratch = join(dataDir, 'postgres.creating')
  await until('initdb runs', () => processesIn(scratch).some((p) => p.name === 'initdb'))
  server.child.kill('SIGINT')
  assert.equal(await server.exited, 130, server.output())
  assert.match(server.output(), /interrupted while starting/)
  // opas waited for initdb's whole process group (server-access.test.ts proves the group goes):
  // nothing of the database runs on, and no half-made cluster is left. Had initdb finished in
  // the moment before the signal, the cluster is whole and the start stopped after it.
  assert.deepEqual(processesIn(dataDir), [], 'no program of the database is left running')
  const left = readdirSync(dataDir)
  assert.ok(!left.includes('postgres.creating'), left.join(', '))
  if (left.includes('postgres')) assert.ok(existsSync(join(dataDir, 'postgres', 'PG_VERSION')))

  const next = await startedOpas(env)
  assert.ok(await ready(env))
  next.child.kill('SIGTERM')
  assert.equal(await next.exited, 0, next.output())
})
