import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * podman as the container test uses it: its own storage in a new temporary folder (nothing of the
 * machine's is read or left behind) and a containers.conf that works where the OCI runtime cannot
 * start containers: images are built with `--isolation chroot`, which needs no cgroups, and
 * without default ulimits (which chroot isolation cannot set).
 */
export interface Podman {
  /** Runs `podman <args>`, failing with its output unless it exits 0; its stdout, trimmed. */
  run(args: string[]): Promise<string>
  /** Unmounts every image, removes the storage. */
  close(): Promise<void>
}

const CONTAINERS_CONF = `[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
`

/** The output of `command`, or an error carrying it all when it does not exit 0. */
export function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {}
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (err) => reject(new Error(`${command}: ${err.message}`)))
    child.on('close', (code) => {
      if (code === 0) resolve(stdout.trim())
      else
        reject(
          new Error(`\`${command} ${args.join(' ')}\` exited ${code}:\n${stdout}\n${stderr}`.trim())
        )
    })
  })
}

export function openPodman(): Podman {
  const home = mkdtempSync(join(tmpdir(), 'opas-podman-'))
  const conf = join(home, 'containers.conf')
  writeFileSync(conf, CONTAINERS_CONF)
  const env = { ...process.env, CONTAINERS_CONF: conf }
  const storage = [
    '--root',
    join(home, 'storage'),
    '--runroot',
    join(home, 'run'),
    '--storage-driver',
    'overlay'
  ]
  const run = (args: string[]) => runCommand('podman', [...storage, ...args], { env })
  return {
    run,
    async close() {
      await run(['image', 'unmount', '--all']).catch(() => {})
      // Removes the storage's own mounts and files; the folder is removed either way.
      await run(['system', 'reset', '--force']).catch(() => {})
      rmSync(home, { recursive: true, force: true })
    }
  }
}
