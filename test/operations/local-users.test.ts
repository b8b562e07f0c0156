import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { readPostmasterPid } from '../../src/storage/embedded/postmaster-pid.js'
import { clusterDir, createEmbeddedDb } from '../../src/storage/embedded/embedded-db.js'
import { isRunning } from '../../src/storage/embedded/process-table.js'
import { tempFolder } from '../helpers/opas-process.js'

/**
 * Issue 24 (3): nothing another local user can write in the shared temporary folder steers
 * opas: no predictable socket folder to plant a link at, and no leftover folder whose
 * postmaster.pid makes opas signal a process of the planter's choosing.
 */

const root = tempFolder('opas-local-users-')
const planted: string[] = []
after(() => {
  for (const path of [root, ...planted]) rmSync(path, { recursive: true, force: true })
})
const asRoot = process.getuid?.() === 0
const ROOT_ONLY = asRoot ? false : 'a second local user exists only for root here'
const nobody = () => Number(execFileSync('id', ['-u', 'nobody']).toString())

/** A process that does nothing, working in `folder`: the victim. */
function victim(folder: string) {
  const child = spawn('sleep', ['120'], { cwd: folder, stdio: 'ignore' })
  after(() => child.kill('SIGKILL'))
  return child
}

/** A pid no process has any more (a process that ran and exited). */
const deadPid = (): number => spawnSync('true').pid

test(
  'a leftover memory folder planted by another user, or a link in one, makes opas signal nothing',
  { skip: ROOT_ONLY },
  async () => {
    // Where the victim works, and where the planter wrote a postmaster.pid naming it.
    const workplace = join(root, 'workplace')
    mkdirSync(workplace)
    const target = victim(workplace)
    writeFileSync(join(workplace, 'postmaster.pid'), `${target.pid}\n${workplace}\n`)
    // Another user's folder, named as a dead opas process's would be, its cluster a link there.
    // Made under another name and renamed into place whole: a memory database opened by another
    // test file at that moment sweeps such folders, and must meet it only as the planter left it.
    const theirs = join(tmpdir(), `opas-memory-${deadPid()}-planted`)
    const making = join(tmpdir(), `opas-planting-${process.pid}`)
    planted.push(theirs, making)
    mkdirSync(making, { mode: 0o700 })
    symlinkSync(workplace, join(making, 'cluster'))
    chownSync(making, nobody(), nobody())
    renameSync(making, theirs)
    // A folder of root's own (as if opas made it) whose cluster is a link, not a folder.
    const linked = join(tmpdir(), `opas-memory-${deadPid()}-linked`)
    planted.push(linked)
    mkdirSync(linked, { mode: 0o700 })
    symlinkSync(workplace, join(linked, 'cluster'))

    // The first memory database of this process sweeps leftovers.
    const db = await createEmbeddedDb('memory://', { poolSize: 1 })
    await db.close()
    assert.ok(isRunning(target.pid!), 'the victim was not signalled')
    assert.ok(existsSync(theirs), "another user's folder is left alone")
  }
)

test('a long DATA_DIR puts no socket folder in the shared temporary folder, nor follows a link there', async () => {
  const dataDir = join(
    root,
    'a-data-directory-whose-path-is-too-long-for-a-unix-socket-address'.repeat(2)
  )
  const cluster = resolve(clusterDir(dataDir))
  assert.ok(join(cluster, '.s.PGSQL.5432').length > 108)
  // What the earlier version would have used: a predictable name, planted as a link.
  const predictable = join(
    tmpdir(),
    `opas-pg-${createHash('sha256').update(cluster).digest('hex').slice(0, 16)}`
  )
  const protectedFolder = join(root, 'protected')
  mkdirSync(protectedFolder, { mode: 0o755 })
  rmSync(predictable, { force: true, recursive: true })
  symlinkSync(protectedFolder, predictable)
  planted.push(predictable)
  const before = readdirSync(tmpdir()).filter((name) => name.startsWith('opas-pg-'))

  const db = await createEmbeddedDb(dataDir, { poolSize: 1 })
  try {
    assert.equal((await db.query<{ one: number }>('select 1 as one')).rows[0]!.one, 1)
    assert.equal(
      readPostmasterPid(cluster)?.[4]?.trim(),
      '/proc/self/cwd',
      'the socket is in the cluster'
    )
  } finally {
    await db.close()
  }
  const created = readdirSync(tmpdir()).filter(
    (name) => name.startsWith('opas-pg-') && !before.includes(name)
  )
  assert.deepEqual(created, [])
  assert.equal(statSync(protectedFolder).uid, process.getuid!())
  assert.equal(statSync(protectedFolder).mode & 0o777, 0o755)
})
