import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, test } from 'node:test'
import {
  answers,
  localServerEnv,
  type OpasProcess,
  runOpas,
  tempFolder,
  waitForHealth
} from '../helpers/opas-process.js'
import { isRunning } from '../../src/storage/embedded/process-table.js'

/**
 * `npm start` under a process manager (Docker, systemd): the signal goes to npm, and the server
 * it started must stop with it, gracefully, never left running as an orphan (issue 13).
 */

const dataDir = tempFolder('opas-npm-')
after(() => rmSync(dataDir, { recursive: true, force: true }))

async function npmStart(): Promise<{ npm: OpasProcess; env: Record<string, string>; pid: number }> {
  const env = await localServerEnv(dataDir)
  const npm = runOpas(['start'], env, { npm: true })
  await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/healthz`, npm)
  const pid = Number((await npm.printed(/"pid":(\d+)[^\n]*"msg":"opas listening"/))[1])
  assert.ok(pid > 0 && pid !== npm.child.pid, npm.output())
  return { npm, env, pid }
}

async function gone(pid: number, url: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (isRunning(pid) || (await answers(url))) {
    assert.ok(Date.now() < deadline, `the server (pid ${pid}) is still running`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to npm start stops the server gracefully`, async () => {
    const { npm, env, pid } = await npmStart()
    npm.child.kill(signal)
    await npm.exited
    await gone(pid, `http://127.0.0.1:${env.AUTH_PORT}/healthz`)
    // Written as it stopped: waited for until its output has ended, not read at its exit.
    await npm.printed(new RegExp(`"signal":"${signal}"[^\\n]*shutting down`))
    await npm.printed(/"msg":"stopped"/)
  })
}

test('a killed npm (SIGKILL, nothing forwarded) does not leave the server running', async () => {
  const { npm, env, pid } = await npmStart()
  npm.child.kill('SIGKILL')
  await gone(pid, `http://127.0.0.1:${env.AUTH_PORT}/healthz`)
  // The server wrote it into the pipe npm gave it: read once it arrives, not raced.
  await npm.printed(/"signal":"npm exited"[^\n]*shutting down/)
})
