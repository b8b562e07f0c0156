import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Db } from '../storage/db.js'
import { workersRecent, workersScrape } from './worker-metrics.js'
import { createRecentActivity } from './recent-activity.js'

/** The webhook deliveries' figures the gauges show. */
export interface WebhookStats {
  pending: number
  delivered: number
  failed: number
  oldestUndeliveredSeconds: number
}

/**
 * What opas counts, in the Prometheus text format served by the admin listener's /metrics.
 * Label values are bounded sets (route patterns, never URLs; access types; results), so a
 * hostile client cannot grow the series. The same figures also feed the last hour kept in
 * memory for the operator console (`recent`), clocked by `now`.
 */
export function createMetrics(deps: { db: Pick<Db, 'poolStats'>; now?: () => number }) {
  const activity = createRecentActivity(deps.now ?? Date.now)
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'opas_' })
  const registers = [registry]

  const httpRequests = new Counter({
    name: 'opas_http_requests_total',
    help: 'HTTP requests answered, by listener, route pattern, method and status.',
    labelNames: ['listener', 'route', 'method', 'status'] as const,
    registers
  })
  const httpDuration = new Histogram({
    name: 'opas_http_request_duration_seconds',
    help: 'Time from the request arriving to its response being sent.',
    labelNames: ['listener', 'route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers
  })
  const grantsIssued = new Counter({
    name: 'opas_grants_issued_total',
    help: 'Grants that received an access token (or subject), by access type (a grant with two types counts once for each).',
    labelNames: ['type'] as const,
    registers
  })
  const grantsPending = new Counter({
    name: 'opas_grants_pending_total',
    help: 'Grant requests that started an interaction.',
    registers
  })
  const rotations = new Counter({
    name: 'opas_token_rotations_total',
    help: 'Access tokens rotated.',
    registers
  })
  const revocations = new Counter({
    name: 'opas_revocations_total',
    help: 'Revocations: of one token, or of a grant and all its tokens (cancel).',
    labelNames: ['what'] as const,
    registers
  })
  const introspections = new Counter({
    name: 'opas_introspections_total',
    help: 'Token introspections, by result.',
    labelNames: ['result'] as const,
    registers
  })
  const keyCache = new Counter({
    name: 'opas_client_key_cache_total',
    help: 'Client key and wallet address lookups: cache hits, fetches (misses) and failed fetches.',
    labelNames: ['cache', 'event'] as const,
    registers
  })
  const retention = new Counter({
    name: 'opas_retention_deleted_total',
    help: 'Rows deleted by the retention job, by rule.',
    labelNames: ['rule'] as const,
    registers
  })
  new Gauge({
    name: 'opas_db_pool_connections',
    help: 'Database connections: open, idle, and requests waiting for one.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const { total, idle, waiting } = deps.db.poolStats()
      this.set({ state: 'total' }, total)
      this.set({ state: 'idle' }, idle)
      this.set({ state: 'waiting' }, waiting)
    }
  })

  const webhookAttempts = new Counter({
    name: 'opas_webhook_deliveries_total',
    help: 'Webhook attempts, by outcome: delivered (answered 200), failed (to be tried again), gave_up (failed after the last retry).',
    labelNames: ['outcome'] as const,
    registers
  })
  // Read from the database at each scrape (by the first collect of the two gauges, within a
  // second); every worker reads the same figures, so they are not summed (max).
  let webhookStats: (() => Promise<WebhookStats>) | undefined
  let lastStats: { at: number; value: Promise<WebhookStats> } | undefined
  const readWebhookStats = (): Promise<WebhookStats> | undefined => {
    if (!webhookStats) return undefined
    const at = Date.now()
    if (!lastStats || at - lastStats.at > 1000) lastStats = { at, value: webhookStats() }
    return lastStats.value
  }
  new Gauge({
    name: 'opas_webhook_queue',
    help: 'Webhook deliveries recorded, by state: pending (waiting for a retry, or behind one), delivered, failed (given up).',
    labelNames: ['state'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      const stats = await readWebhookStats()?.catch(() => undefined)
      if (!stats) return
      for (const state of ['pending', 'delivered', 'failed'] as const) {
        this.set({ state }, stats[state])
      }
    }
  })
  new Gauge({
    name: 'opas_webhook_oldest_undelivered_seconds',
    help: 'Age of the oldest event a webhook receiver has not had yet (0: none waiting).',
    aggregator: 'max',
    registers,
    async collect() {
      const stats = await readWebhookStats()?.catch(() => undefined)
      if (stats) this.set(stats.oldestUndeliveredSeconds)
    }
  })

  // Bounded: route patterns (plus 'unmatched') times methods times statuses.
  const requestSeries = new Map<
    string,
    {
      duration: ReturnType<typeof httpDuration.labels>
      byStatus: Map<number, ReturnType<typeof httpRequests.labels>>
    }
  >()

  return {
    registry,
    /** The text exposition of this process, or of every worker under `--workers`. */
    scrape: workersScrape(registry),
    /**
     * The last hour, minute by minute, of the server or of one tenant (`{ tenantId }`): of this
     * process, or of every worker under `--workers`.
     */
    recent: workersRecent(activity.snapshot),
    request(listener: string, route: string, method: string, status: number, seconds: number) {
      // Every request passes here: the labelled children are looked up once per series, not
      // hashed from their labels on every call.
      const key = `${listener} ${route} ${method}`
      let series = requestSeries.get(key)
      if (series === undefined) {
        series = { duration: httpDuration.labels(listener, route, method), byStatus: new Map() }
        requestSeries.set(key, series)
      }
      let count = series.byStatus.get(status)
      if (count === undefined) {
        count = httpRequests.labels(listener, route, method, String(status))
        series.byStatus.set(status, count)
      }
      count.inc()
      series.duration.observe(seconds)
      // The last hour shows what clients and resource servers get: the operator's own pages
      // and scrapes (the admin listener) are left out, so that looking does not move it.
      if (listener !== 'admin') activity.request(listener, route, method, seconds)
    },
    /** A refused request, by the error code it was answered with, and the tenant it concerned. */
    refused: (code: string, tenantId?: string) => activity.refused(code, tenantId),
    grantIssued(types: readonly string[], tenantId: string) {
      for (const type of new Set(types)) grantsIssued.inc({ type })
      activity.grantIssued(tenantId)
    },
    grantPending: () => grantsPending.inc(),
    rotated(tenantId: string) {
      rotations.inc()
      activity.rotated(tenantId)
    },
    revoked: (what: 'token' | 'grant') => revocations.inc({ what }),
    /** An introspection; the tenant of the token when it was found active. */
    introspected(active: boolean, tenantId?: string) {
      introspections.inc({ result: active ? 'active' : 'inactive' })
      activity.introspected(active, tenantId)
    },
    keyCache: (cache: 'jwks' | 'wallet_address', event: 'hit' | 'miss' | 'failure') =>
      keyCache.inc({ cache, event }),
    /** A webhook attempt's outcome. */
    webhookAttempt: (outcome: 'delivered' | 'failed' | 'gave_up') =>
      webhookAttempts.inc({ outcome }),
    /** Where the webhook gauges read their figures (the webhook service, once built). */
    watchWebhooks(stats: () => Promise<WebhookStats>) {
      webhookStats = stats
    },
    retentionDeleted(counts: Record<string, number>) {
      for (const [rule, n] of Object.entries(counts)) retention.inc({ rule }, n)
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>
