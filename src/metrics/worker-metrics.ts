import cluster, { type Worker } from 'node:cluster'
import { randomUUID } from 'node:crypto'
import { AggregatorRegistry, type Registry } from 'prom-client'
import { mergeSnapshots, type ActivityScope, type ActivitySnapshot } from './recent-activity.js'

/**
 * `opas start --workers N`: every worker counts its own requests, and node:cluster hands each
 * scrape of the admin listener to one of them. So that a scrape sees the whole server, the
 * worker that receives it asks the primary, which collects every worker's registry over IPC and
 * sums them (prom-client's AggregatorRegistry; gauges such as pool connections are summed too,
 * process metrics per their own aggregator). The console's last hour travels the same way: the
 * primary asks every worker for its recent activity, of the server or of the one tenant asked
 * for (a tenant's figures never leave a worker for another tenant's page), and merges them.
 */

const REQUEST = 'opas:worker-metrics'
const RESPONSE = 'opas:worker-metrics-result'
/** Longer than prom-client's own 5 s wait for the workers, so its error is the one reported. */
const TIMEOUT_MS = 6_000

/** Worker → primary, and the primary's answer to that worker. */
const RECENT_REQUEST = 'opas:recent-activity'
const RECENT_RESULT = 'opas:recent-activity-result'
/** Primary → every worker, and each worker's part. */
const RECENT_COLLECT = 'opas:recent-activity-collect'
const RECENT_PART = 'opas:recent-activity-part'
const COLLECT_TIMEOUT_MS = 2_000
/** Longer than the primary's wait for the workers, so its error is the one reported. */
const RECENT_TIMEOUT_MS = 3_000

interface Message {
  type: string
  id: string
  body?: string
  snapshot?: ActivitySnapshot
  /** Whose figures are asked for: one tenant's; the server's when absent. */
  tenantId?: string
  error?: string
}

/** The scope a message asks for: a tenant's when it names one, else the server's. */
const scopeOf = (message: Partial<Message>): ActivityScope =>
  typeof message.tenantId === 'string' ? { tenantId: message.tenantId } : 'server'

const scopeFields = (scope: ActivityScope) =>
  scope === 'server' ? {} : { tenantId: scope.tenantId }

const asMessage = (message: unknown): Partial<Message> =>
  typeof message === 'object' && message !== null ? message : {}

/** What the primary uses of a worker: a `cluster.Worker`, or a test's stand-in. */
export interface WorkerPort {
  id: number
  isConnected(): boolean
  send(message: object): unknown
}

/** In the primary: answers workers' requests for the aggregated metrics of all workers. */
export function serveWorkerMetrics(): void {
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker: Worker, raw: unknown) => {
    const message = asMessage(raw)
    if (message.type !== REQUEST || typeof message.id !== 'string') return
    const id = message.id
    const reply = (answer: Pick<Message, 'body' | 'error'>) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id, ...answer })
    }
    aggregator.clusterMetrics().then(
      (body) => reply({ body }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) })
    )
  })
  const workers = () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined)
  cluster.on('message', recentActivityHub(workers))
}

/**
 * The primary's side of recent activity: a worker's request is answered with the merge of every
 * connected worker's snapshot (its own included), or with an error once a worker is late.
 */
export function recentActivityHub(
  workers: () => readonly WorkerPort[],
  timeoutMs = COLLECT_TIMEOUT_MS
): (worker: WorkerPort, message: unknown) => void {
  const collections = new Map<
    string,
    { waiting: Set<number>; parts: ActivitySnapshot[]; finish: (answer: object) => void }
  >()
  return (worker, raw) => {
    const message = asMessage(raw)
    if (typeof message.id !== 'string') return
    if (message.type === RECENT_PART) {
      const collection = collections.get(message.id)
      if (collection === undefined || !collection.waiting.delete(worker.id)) return
      if (message.snapshot !== undefined) collection.parts.push(message.snapshot)
      if (collection.waiting.size === 0) {
        collection.finish({ snapshot: mergeSnapshots(collection.parts) })
      }
      return
    }
    if (message.type !== RECENT_REQUEST) return
    const id = message.id
    const collectId = randomUUID()
    const targets = workers().filter((w) => w.isConnected())
    const waiting = new Set(targets.map((w) => w.id))
    const finish = (answer: object) => {
      clearTimeout(timer)
      collections.delete(collectId)
      if (worker.isConnected()) worker.send({ type: RECENT_RESULT, id, ...answer })
    }
    const timer = setTimeout(
      () =>
        finish({ error: `${waiting.size} of ${targets.length} workers did not answer in time` }),
      timeoutMs
    )
    collections.set(collectId, { waiting, parts: [], finish })
    const scope = scopeFields(scopeOf(message))
    for (const target of targets) target.send({ type: RECENT_COLLECT, id: collectId, ...scope })
  }
}

/** Requests sent to the primary, each settled by its answer or failed at its deadline. */
function awaitingPrimary<T>(
  send: (message: object) => void,
  type: string,
  what: string,
  timeoutMs: number
) {
  const pending = new Map<string, (answer: Partial<Message>, value: T | undefined) => void>()
  return {
    ask: (fields: object = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = randomUUID()
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`the primary did not answer the ${what} request`))
        }, timeoutMs)
        pending.set(id, (answer, value) => {
          clearTimeout(timer)
          pending.delete(id)
          if (value !== undefined) resolve(value)
          else reject(new Error(answer.error ?? `no ${what}`))
        })
        send({ ...fields, type, id })
      }),
    settle: (answer: Partial<Message>, value: T | undefined) => {
      if (typeof answer.id === 'string') pending.get(answer.id)?.(answer, value)
    }
  }
}

/**
 * The worker's side of recent activity: gives its own snapshot when the primary collects, and
 * asks the primary for every worker's. `send` goes to the primary.
 */
export function recentActivityClient(
  send: (message: object) => void,
  snapshot: (scope: ActivityScope) => ActivitySnapshot,
  timeoutMs = RECENT_TIMEOUT_MS
) {
  const requests = awaitingPrimary<ActivitySnapshot>(
    send,
    RECENT_REQUEST,
    'recent activity',
    timeoutMs
  )
  return {
    recent: (scope: ActivityScope = 'server') => requests.ask(scopeFields(scope)),
    onMessage(raw: unknown): void {
      const message = asMessage(raw)
      if (message.type === RECENT_COLLECT && typeof message.id === 'string') {
        send({ type: RECENT_PART, id: message.id, snapshot: snapshot(scopeOf(message)) })
      } else if (message.type === RECENT_RESULT) {
        requests.settle(message, message.snapshot)
      }
    }
  }
}

const sendToPrimary = (message: object) => process.send?.(message)

/**
 * In a worker: offers `registry` to the primary's aggregation, and returns how to scrape every
 * worker from here. Outside a worker (no `--workers`), scraping is the registry's own.
 */
export function workersScrape(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics()
  AggregatorRegistry.setRegistries([registry])
  // Constructing one installs prom-client's worker-side listener that answers the primary.
  new AggregatorRegistry()
  const scrapes = awaitingPrimary<string>(sendToPrimary, REQUEST, 'metrics', TIMEOUT_MS)
  process.on('message', (raw: unknown) => {
    const message = asMessage(raw)
    if (message.type === RESPONSE) scrapes.settle(message, message.body)
  })
  return scrapes.ask
}

/**
 * In a worker: every worker's last hour (of the server, or of one tenant), merged by the primary;
 * elsewhere this process's own.
 */
export function workersRecent(
  snapshot: (scope: ActivityScope) => ActivitySnapshot
): (scope?: ActivityScope) => Promise<ActivitySnapshot> {
  if (!cluster.isWorker) return async (scope = 'server') => snapshot(scope)
  const client = recentActivityClient(sendToPrimary, snapshot)
  process.on('message', client.onMessage)
  return client.recent
}
