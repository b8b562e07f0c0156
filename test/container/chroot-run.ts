import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Runs a command of a built image the way a container runtime would, where none can start
 * containers: in the image's mounted root file system (`podman image mount`), as the image's
 * user, in its working directory, with its environment (plus `env`), as PID 1 of a new PID
 * namespace and in a mount namespace of its own that has /proc, /dev, a private /dev/shm and
 * /tmp, and `volume` bound at the image's volume. The network is the host's: the test reaches
 * the listeners, and opas reaches the test's wallet-address server, on 127.0.0.1.
 */

/** What an image's configuration says about running it (`podman image inspect`). */
export interface ImageConfig {
  User: string
  Env: string[]
  Entrypoint: string[]
  Cmd: string[]
  WorkingDir: string
  ExposedPorts: Record<string, unknown>
  Volumes: Record<string, unknown>
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; Retries?: number }
}

export interface ImageRun {
  /** Everything it wrote so far, stdout and stderr together. */
  output(): string
  /** The first match of `pattern` in its output, once written; fails if it ends first. */
  printed(pattern: RegExp): Promise<RegExpExecArray>
  /** Sends `signal` to the command itself (PID 1 inside), as `docker stop` does. */
  signal(signal: NodeJS.Signals): Promise<void>
  /** Its exit code, once it has exited and its output has ended. */
  exited: Promise<number | null>
  /** Ends it and its namespace at once (SIGKILL). */
  kill(): void
}

// Mounts, then becomes the command (exec): the command is PID 1 of the new PID namespace.
const SETUP = `set -e
root=$1; volume=$2; target=$3; userspec=$4; groups=$5; shift 5
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"
mount --bind "$volume" "$root$target"
exec chroot --userspec="$userspec" --groups="$groups" "$root" "$@"`

const running = new Set<ChildProcess>()
/** Ends every command still running (a test that failed half-way). */
export function killAllInImage(): void {
  for (const child of running) child.kill('SIGKILL')
}

/** `command` (default: the image's entrypoint and command) run in the mounted image `root`. */
export function runInImage(
  root: string,
  image: ImageConfig,
  options: { volume: string; env: Record<string, string>; command?: string[] }
): ImageRun {
  const [target] = Object.keys(image.Volumes)
  assert.ok(target, 'the image declares its volume')
  const [uid, gid = uid] = image.User.split(':')
  const command = options.command ?? [...image.Entrypoint, ...image.Cmd]
  const env = [...image.Env, ...Object.entries(options.env).map(([k, v]) => `${k}=${v}`)]
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation=private',
      '--pid',
      '--fork',
      // Should the test die, its PID 1 dies with unshare, and the namespace with it.
      '--kill-child',
      'sh',
      '-c',
      SETUP,
      'setup',
      root,
      options.volume,
      target,
      `${uid}:${gid}`,
      gid!,
      '/usr/bin/env',
      '-i',
      '-C',
      image.WorkingDir,
      ...env,
      ...command
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  running.add(child)
  child.on('close', () => running.delete(child))
  let output = ''
  const written = new EventEmitter()
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (d: Buffer) => {
      output += d.toString()
      written.emit('data')
    })
  }
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
  const ended = closed.then(() => false)
  return {
    output: () => output,
    async printed(pattern) {
      for (;;) {
        const found = pattern.exec(output)
        if (found) return found
        const more = await Promise.race([once(written, 'data').then(() => true), ended])
        if (!more && !pattern.test(output)) assert.fail(`never printed ${pattern}:\n${output}`)
      }
    },
    async signal(signal) {
      process.kill(await pidOne(child), signal)
    },
    exited: closed,
    kill: () => child.kill('SIGKILL')
  }
}

/** The host's pid of the command, PID 1 inside: the one child unshare forked. */
async function pidOne(child: ChildProcess): Promise<number> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim()
    if (children) return Number(children.split(' ')[0])
    await sleep(20)
  }
  assert.fail('unshare did not start the command')
}

/** Runs `command` in the image to its end: its exit code and output. */
export async function ranInImage(
  root: string,
  image: ImageConfig,
  options: { volume: string; env: Record<string, string>; command: string[] }
): Promise<{ code: number | null; output: string }> {
  const run = runInImage(root, image, options)
  const code = await run.exited
  return { code, output: run.output() }
}
