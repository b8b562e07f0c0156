import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test } from 'node:test'
import { isSameProcess } from './process-table.js'
import { runProgram } from './server-access.js'

/**
 * A program of the embedded server run by opas (initdb, single-user postgres) is stopped with
 * everything it started when the start is interrupted, and opas waits for all of it to go.
 */

const root = mkdtempSync(join(tmpdir(), 'opas-run-program-'))
after(() => rmSync(root, { recursive: true, force: true }))

async function until(check: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 30_000; Date.now() < end; await sleep(20)) if (check()) return
  assert.fail(`not within 30 s: ${what}`)
}

test('an interrupted run stops the program and its children, and rejects once they are gone', async () => {
  const cwd = mkdtempSync(join(root, 'cluster-'))
  const interrupt = new AbortController()
  // A program with a child of its own, as initdb runs the server under a shell.
  const running = runProgram(undefined, '/bin/sh', ['-c', 'sleep 300 & echo $$ $! > pids; wait'], {
    cwd,
    input: '',
    abort: interrupt.signal
  })
  await until(() => existsSync(join(cwd, 'pids')), 'the program runs')
  const [shell, child] = readFileSync(join(cwd, 'pids'), 'utf8').trim().split(' ').map(Number)
  const reason = new Error('interrupted by SIGINT while starting')
  interrupt.abort(reason)
  await assert.rejects(running, (err) => err === reason)
  assert.equal(isSameProcess(shell!, undefined), false, 'the program is gone')
  assert.equal(isSameProcess(child!, undefined), false, 'and so is its child')
})

test('a run interrupted before it begins starts nothing', async () => {
  const cwd = mkdtempSync(join(root, 'cluster-'))
  const interrupt = new AbortController()
  interrupt.abort(new Error('interrupted'))
  await assert.rejects(
    runProgram(undefined, '/bin/sh', ['-c', 'touch started'], {
      cwd,
      input: '',
      abort: interrupt.signal
    }),
    /interrupted/
  )
  assert.equal(existsSync(join(cwd, 'started')), false)
})
