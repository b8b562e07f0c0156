import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { postJson } from './signed-request.js'
import { freeListenerPorts } from './test-server.js'

/**
 * A new temporary folder for a data directory, private (mkdtemp: 0700) as an operator's would
 * be: as root too, the embedded PostgreSQL's user need not be let in.
 */
export function tempFolder(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** An opas command run as its own process, as a user runs it. */
export interface OpasProcess {
  child: ChildProcess
  /** Everything it wrote so far, stdout and stderr together. */
  output: () => string
  /**
   * The first match of `pattern` in its output, once written: a line printed after the server
   * answers (the generated settings, a log line) is waited for, not raced. Fails when the
   * process exits without writing it.
   */
  printed: (pattern: RegExp) => Promise<RegExpExecArray>
  /**
   * Its exit code, once it has exited and its output has ended: `output()` is then whole (the
   * 'exit' event alone can come before the last lines are read).
   */
  exited: Promise<number | null>
  /** Resolves once its output has ended: `output()` is then final. */
  closed: Promise<void>
}

const running: ChildProcess[] = []
after(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL')
})

/**
 * `opas <args>` from the sources (the CLI's own entry), or the `npm` command line given, in `cwd`
 * (default: this checkout), with
 * only PATH and `env` in its environment.
 */
export function runOpas(
  args: string[],
  env: Record<string, string>,
  options: { npm?: boolean; cwd?: string; unprivileged?: boolean } = {}
): OpasProcess {
  let output = ''
  let [command, argv] = options.npm
    ? ['npm', args]
    : [process.execPath, ['--import', 'tsx', 'src/cli/opas.ts', ...args]]
  // As root, `unprivileged` runs it as nobody: what it must refuse, it could not do anyway.
  if (options.unprivileged && process.getuid?.() === 0) {
    argv = ['--reuid=65534', '--regid=65534', '--clear-groups', command, ...argv]
    command = 'setpriv'
  }
  const child = spawn(command, argv, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.push(child)
  const written = new EventEmitter()
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (d: Buffer) => {
      output += d.toString()
      written.emit('data')
    })
  }
  // 'close': every byte of both streams has been read, so the output is final.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const closed = exited.then(() => {})
  const printed = async (pattern: RegExp) => {
    let found = pattern.exec(output)
    while (found === null) {
      const more = await Promise.race([
        once(written, 'data').then(() => true),
        closed.then(() => false)
      ])
      found = pattern.exec(output)
      if (!more && found === null) assert.fail(`never printed ${pattern}:\n${output}`)
    }
    return found
  }
  return { child, output: () => output, printed, exited, closed }
}

/** `opas <args>` (see runOpas) run to its end: its exit code and all it wrote. */
export async function ranOpas(
  args: string[],
  env: Record<string, string>
): Promise<{ code: number | null; output: string }> {
  const run = runOpas(args, env)
  const code = await run.exited
  await run.closed
  return { code, output: run.output() }
}

/** Waits until `url` answers 200, failing with the process's output if it exits first. */
export async function waitForHealth(url: string, started: OpasProcess): Promise<void> {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (started.child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.fail(`opas did not become healthy:\n${started.output()}`)
}

/** True when something accepts connections at `url`. */
export async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url)
    return true
  } catch {
    return false
  }
}

/** Free loopback ports for every listener, and `dataDir`: `opas start` beside other tests. */
export async function localServerEnv(dataDir: string): Promise<Record<string, string>> {
  return { ...(await freeListenerPorts()), LISTEN_HOST: '127.0.0.1', DATA_DIR: dataDir }
}

/** `opas start` with `env`, once its auth listener answers /healthz. */
export async function startedOpas(env: Record<string, string>): Promise<OpasProcess> {
  const server = runOpas(['start'], env)
  await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/healthz`, server)
  return server
}

/** Stops a server with SIGTERM: it must stop gracefully (exit code 0). */
export async function stoppedOpas(server: OpasProcess): Promise<void> {
  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 0, server.output())
  // What it printed is then read whole (a test may look for what it must not have printed).
  await server.closed
}

/** Whether the introspection listener of the server started with `env` finds `token` active. */
export async function introspectsActive(env: Record<string, string>, token: string) {
  const answer = await postJson(`http://127.0.0.1:${env.INTROSPECTION_PORT}/`, {
    access_token: token
  })
  return (answer.body as { active: boolean }).active
}
