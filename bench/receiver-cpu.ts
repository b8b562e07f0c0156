import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * `--receiver-cpu`: the last CPU is kept for the webhook receiver, as a wallet's backend runs on
 * a host of its own: this process (the load generator), and so opas and its database started
 * from it, run on the other CPUs (an affinity is inherited), the receiver alone on the last.
 * With and without --webhooks alike, so that the two runs compare. Linux's taskset(1) sets it.
 */

/** The CPU left for the receiver; throws, in words, where that cannot be done. */
export function keepLastCpuForReceiver(): number {
  const cpus = availableParallelism()
  if (cpus < 2) throw new Error('--receiver-cpu needs at least two CPUs')
  const last = cpus - 1
  try {
    execFileSync('taskset', ['-a', '-p', '-c', `0-${last - 1}`, String(process.pid)], {
      stdio: 'ignore'
    })
  } catch (err) {
    throw new Error(`--receiver-cpu: taskset could not pin the bench (${(err as Error).message})`)
  }
  return last
}
