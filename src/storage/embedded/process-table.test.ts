import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { test } from 'node:test'
import {
  isRunning,
  isSameProcess,
  processFolder,
  processStart,
  processUid,
  waitGone
} from './process-table.js'

const linux = existsSync('/proc/self/stat')

test('a process that has exited is not running, and waitGone says so at once', async () => {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((resolve) => child.on('exit', resolve))
  assert.equal(isRunning(child.pid!), false)
  assert.equal(isSameProcess(child.pid!, undefined), false)
  assert.equal(await waitGone(child.pid!, 1_000), true)
})

test('another process with the same pid (another start time) is not the one recorded', () => {
  assert.ok(isRunning(process.ppid))
  assert.ok(isSameProcess(process.ppid, processStart(process.ppid)))
  assert.ok(isSameProcess(process.ppid, undefined), 'no start recorded: the pid decides')
  // Only where the process table tells start times (Linux); elsewhere the pid alone decides.
  if (linux) assert.equal(isSameProcess(process.ppid, '1'), false)
})

test('whose a process is and where it works', { skip: !linux && 'needs /proc' }, () => {
  assert.equal(processUid(process.pid), process.getuid?.())
  assert.equal(processFolder(process.pid), realpathSync(process.cwd()))
})

test('waitGone gives up on a process that stays', async () => {
  assert.equal(await waitGone(process.pid, 60), false)
})
