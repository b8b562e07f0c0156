import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { DataDirInUseError, lockDataDir, type LockOwner } from './data-dir-lock.js'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opas-lock-'))
  dirs.push(dir)
  return dir
}
const lockFile = (dir: string) => join(dir, 'opas.lock')
const writeOwner = (dir: string, owner: Partial<LockOwner>) =>
  writeFileSync(
    lockFile(dir),
    JSON.stringify({
      hostname: hostname(),
      startedAt: '2026-01-01T00:00:00Z',
      command: 'opas start',
      ...owner
    })
  )

/** A process that has exited: its pid is free (and not reused within the test). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid!
}

test('the first taker owns the directory; a second, in this process or another, is refused by name', async () => {
  const dir = freshDir()
  const lock = await lockDataDir(dir, 'opas start')
  const owner = JSON.parse(readFileSync(lockFile(dir), 'utf8')) as LockOwner
  assert.equal(owner.pid, process.pid)
  assert.equal(owner.command, 'opas start')
  await assert.rejects(lockDataDir(dir, 'opas migrate'), (err: unknown) => {
    assert.ok(err instanceof DataDirInUseError)
    assert.match(
      err.message,
      new RegExp(`the data directory ${dir} is in use by opas process ${process.pid}`)
    )
    assert.match(err.message, /opas start/)
    return true
  })
  lock.release()
  assert.equal(existsSync(lockFile(dir)), false)
  ;(await lockDataDir(dir, 'opas start')).release()
})

test('a live process of this host holds its lock (the parent of this test stands in for it)', async () => {
  const dir = freshDir()
  writeOwner(dir, { pid: process.ppid })
  await assert.rejects(lockDataDir(dir, 'opas start'), DataDirInUseError)
  assert.equal(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid, process.ppid)
})

test('a lock left by a process that is gone is taken over, and says whose it was', async () => {
  const dir = freshDir()
  const pid = await deadPid()
  writeOwner(dir, { pid })
  const lock = await lockDataDir(dir, 'opas start')
  assert.equal(lock.replaced?.pid, pid)
  assert.equal(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid, process.pid)
  lock.release()
})

test('a reused pid (another process start time) and an unreadable lock are taken over', async () => {
  const dir = freshDir()
  writeOwner(dir, { pid: process.ppid, processStart: '1' })
  const reused = await lockDataDir(dir, 'opas start')
  // Only where the process table tells start times (Linux); elsewhere the pid alone decides.
  if (existsSync('/proc/self/stat')) assert.equal(reused.replaced?.pid, process.ppid)
  reused.release()

  writeFileSync(lockFile(dir), '{"pid":')
  const unreadable = await lockDataDir(dir, 'opas start')
  assert.equal(unreadable.replaced, null)
  unreadable.release()
})

test('our own pid in a lock we do not hold is a previous life (a container restarted as pid 1)', async () => {
  const dir = freshDir()
  writeOwner(dir, { pid: process.pid })
  const lock = await lockDataDir(dir, 'opas start')
  assert.equal(lock.replaced?.pid, process.pid)
  lock.release()
})

test('another host is never judged from here: refused, with the lock file to delete named', async () => {
  const dir = freshDir()
  writeOwner(dir, { pid: 1, hostname: 'elsewhere.example' })
  await assert.rejects(lockDataDir(dir, 'opas start'), (err: unknown) => {
    assert.ok(err instanceof DataDirInUseError)
    assert.match(err.message, /on host elsewhere\.example/)
    assert.match(err.message, new RegExp(`delete ${lockFile(dir)}`))
    return true
  })
})

test('release removes only its own lock, never one a later owner took over', async () => {
  const dir = freshDir()
  const lock = await lockDataDir(dir, 'opas start')
  writeOwner(dir, { pid: process.ppid })
  lock.release()
  assert.equal(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid, process.ppid)
})

test('two takers racing for a dead owner: exactly one wins', async () => {
  const dir = freshDir()
  writeOwner(dir, { pid: await deadPid() })
  const script = `import { lockDataDir } from './src/storage/embedded/data-dir-lock.ts'
    try { await lockDataDir(${JSON.stringify(dir)}, 'race'); console.log('won'); setTimeout(() => {}, 5000) }
    catch (err) { console.log('lost:', err.constructor.name) }`
  const runs = Array.from({ length: 4 }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    return new Promise<string>((resolve) => child.on('close', () => resolve(out.trim())))
  })
  const results = await Promise.all(runs)
  assert.equal(results.filter((r) => r === 'won').length, 1, results.join('\n'))
  assert.ok(
    results.every((r) => r === 'won' || r === 'lost: DataDirInUseError'),
    results.join('\n')
  )
})
