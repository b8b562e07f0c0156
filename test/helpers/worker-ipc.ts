import {
  recentActivityClient,
  recentActivityHub,
  type WorkerPort
} from '../../src/metrics/worker-metrics.js'
import type { createRecentActivity } from '../../src/metrics/recent-activity.js'

/**
 * Workers' recent-activity clients wired to one primary's hub as node:cluster would wire them,
 * each message delivered on a later turn of the event loop, as IPC does.
 */
export function workersOf(
  workers: { id: number; activity: ReturnType<typeof createRecentActivity> }[]
): ReturnType<typeof recentActivityClient>[] {
  const ports: WorkerPort[] = []
  const hub = recentActivityHub(() => ports)
  return workers.map(({ id, activity }) => {
    const port: WorkerPort = {
      id,
      isConnected: () => true,
      send: (message) => setImmediate(() => client.onMessage(message))
    }
    const client = recentActivityClient(
      (message) => setImmediate(() => hub(port, message)),
      activity.snapshot
    )
    ports.push(port)
    return client
  })
}
