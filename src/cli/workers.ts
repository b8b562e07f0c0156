import cluster from 'node:cluster'
import type { Logger } from 'pino'
import { serveWorkerMetrics } from '../metrics/worker-metrics.js'

/**
 * `opas start --workers N`: N processes share the listening ports (node:cluster hands
 * connections to workers round-robin). Every worker is a complete opas on the same PostgreSQL
 * database; correctness needs nothing more, because every state change is atomic in the
 * database and nothing is shared in memory but caches.
 *
 * The primary only supervises: it replaces a worker that dies unexpectedly (at most once a
 * second, so a worker that cannot start does not spin), forwards SIGTERM/SIGINT, exits when
 * every worker has stopped, and sums the workers' metrics for whichever of them is scraped.
 */
export function superviseWorkers(count: number, logger: Logger, shutdownTimeoutMs: number): void {
  let stopping = false
  let lastFork = 0
  serveWorkerMetrics()

  const fork = () => {
    lastFork = Date.now()
    cluster.fork()
  }
  for (let i = 0; i < count; i++) fork()

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped')
        process.exit(0)
      }
      return
    }
    logger.error(
      { pid: worker.process.pid, code, signal },
      'worker exited unexpectedly; replacing it'
    )
    setTimeout(fork, Math.max(0, 1000 - (Date.now() - lastFork)))
  })

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal, workers: count }, 'shutting down workers')
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
    setTimeout(() => {
      logger.error('workers did not stop in time; exiting')
      process.exit(1)
    }, shutdownTimeoutMs + 1000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
