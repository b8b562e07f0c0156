import cluster, { type Worker } from 'node:cluster'
import { randomUUID } from 'node:crypto'
import { AggregatorRegistry, type Registry } from 'prom-client'

/**
 * `opas start --workers N`: every worker counts its own requests, and node:cluster hands each
 * scrape of the admin listener to one of them. So that a scrape sees the whole server, the
 * worker that receives it asks the primary, which collects every worker's registry over IPC and
 * sums them (prom-client's AggregatorRegistry; gauges such as pool connections are summed too,
 * process metrics per their own aggregator).
 */

const REQUEST = 'opas:cluster-metrics'
const RESPONSE = 'opas:cluster-metrics-result'
/** Longer than prom-client's own 5 s wait for the workers, so its error is the one reported. */
const TIMEOUT_MS = 6_000

interface MetricsRequest {
  type: typeof REQUEST
  id: string
}
interface MetricsResponse {
  type: typeof RESPONSE
  id: string
  body?: string
  error?: string
}

/** In the primary: answers workers' requests for the aggregated metrics of all workers. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker: Worker, message: Partial<MetricsRequest>) => {
    if (message?.type !== REQUEST || typeof message.id !== 'string') return
    const id = message.id
    const reply = (answer: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id, ...answer })
    }
    aggregator.clusterMetrics().then(
      (body) => reply({ body }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) })
    )
  })
}

/**
 * In a worker: offers `registry` to the primary's aggregation, and returns how to scrape the
 * whole cluster from here. Outside a cluster worker, scraping is the registry's own.
 */
export function clusterScrape(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics()
  AggregatorRegistry.setRegistries([registry])
  // Constructing one installs prom-client's worker-side listener that answers the primary.
  new AggregatorRegistry()
  const pending = new Map<string, (answer: MetricsResponse) => void>()
  process.on('message', (message: Partial<MetricsResponse>) => {
    if (message?.type === RESPONSE && typeof message.id === 'string') {
      pending.get(message.id)?.(message as MetricsResponse)
    }
  })
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = randomUUID()
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error('the primary did not answer the metrics request'))
      }, TIMEOUT_MS)
      pending.set(id, (answer) => {
        clearTimeout(timer)
        pending.delete(id)
        if (answer.body !== undefined) resolve(answer.body)
        else reject(new Error(answer.error ?? 'no metrics'))
      })
      process.send?.({ type: REQUEST, id } satisfies MetricsRequest)
    })
}
