import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

/** A helper process of a benchmark, started and ready. */
export interface ReadyChild {
  pid: number
  /** What it printed on the watched stream so far. */
  output(): string
  /** SIGTERM (SIGKILL after 10 s), and waits for it to exit. */
  stop(): Promise<void>
}

/**
 * Starts a helper process of a benchmark (the webhook receiver, the floor server) and waits
 * until what it prints on `stream` matches `ready`; its other stream goes to ours. It is killed
 * if the benchmark exits first. A start fails, and the process is killed, when it exits or says
 * nothing matching within `timeoutMs`: the error carries what it printed.
 */
export async function startReadyChild(
  file: string,
  args: string[],
  options: { stream: 'stdout' | 'stderr'; ready: RegExp; timeoutMs: number; cwd?: string }
): Promise<ReadyChild> {
  const stdio =
    options.stream === 'stdout' ? ['ignore', 'pipe', 'inherit'] : ['ignore', 'inherit', 'pipe']
  const child: ChildProcess = spawn(file, args, {
    cwd: options.cwd,
    stdio: stdio as ['ignore', 'pipe' | 'inherit', 'pipe' | 'inherit']
  })
  const killOnExit = () => child.kill('SIGKILL')
  process.on('exit', killOnExit)
  let output = ''
  child[options.stream]!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const deadline = Date.now() + options.timeoutMs
  while (!options.ready.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      process.off('exit', killOnExit)
      throw new Error(`${[file, ...args].join(' ')} did not start:\n${output.trim()}`)
    }
    await sleep(20)
  }
  return {
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      process.off('exit', killOnExit)
    }
  }
}
