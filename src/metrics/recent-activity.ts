/**
 * The last hour of this process's activity, minute by minute, for the operator console's
 * overview. Prometheus keeps history for those who run one; this ring is for those who do not,
 * and costs a bounded amount of memory: 60 minutes of counters and of one latency histogram per
 * route series, and of each tenant's own counters (grants issued, rotations, introspections,
 * refusals where the tenant is known), so that a tenant is shown its own hour and no one
 * else's. Latency stays server-wide: every tenant's requests share the routes and the process,
 * so a tenant's p99 would mostly show the others' load, and it is the operator's to act on.
 */

export const MINUTE_MS = 60_000
/** Minutes kept, the current partial one included. */
export const MINUTES = 60
/** Distinct route series (listener, method, route pattern) over the process's life. */
const MAX_ROUTES = 200
/** Distinct refusal codes per minute; the rest count as `other`. */
const MAX_CODES = 50
/**
 * Tenants with figures of their own per minute. Only tenants found in the database are counted
 * (never an id a client made up), so this is reached only by that many live tenants active in
 * one minute; the rest are counted server-wide only.
 */
const MAX_TENANTS = 1000
export const OTHER = 'other'

// Latency buckets: log-spaced, each 10% wider than the one before, from 0.1 ms to 30 s, so a
// percentile read from them is within 5% of the true value. Bucket 0 holds anything faster; the
// last one anything slower.
const FLOOR_MS = 0.1
const RATIO = 1.1
const LOG_RATIO = Math.log(RATIO)
const BUCKETS = Math.ceil(Math.log(30_000 / FLOOR_MS) / LOG_RATIO) + 2

/** One minute's figures. Plain data: a snapshot crosses IPC as JSON. */
export interface ActivityMinute {
  grantsIssued: number
  rotations: number
  introspections: { active: number; inactive: number }
  /** Refusals by error code. */
  refusals: Record<string, number>
  /** Latency histogram per route series (`listener METHOD /route`): bucket index → count. */
  latency: Record<string, Record<string, number>>
}

/** The last hour, keyed by each minute's start (epoch ms); idle minutes are absent. */
export interface ActivitySnapshot {
  /**
   * When recording began (epoch ms): the server's start. Minutes before it are not idle, they
   * are unknown, and the charts leave them out.
   */
  since: number
  minutes: Record<string, ActivityMinute>
}

interface Counts {
  grantsIssued: number
  rotations: number
  active: number
  inactive: number
  refusals: Map<string, number>
}

interface LiveMinute extends Counts {
  start: number
  latency: Map<number, Uint32Array>
  tenants: Map<string, Counts>
}

/** Whose figures a snapshot holds: the whole server's (the operator), or one tenant's. */
export type ActivityScope = { tenantId: string } | 'server'

const newCounts = (): Counts => ({
  grantsIssued: 0,
  rotations: 0,
  active: 0,
  inactive: 0,
  refusals: new Map()
})

function countRefusal(refusals: Map<string, number>, code: string): void {
  const key = refusals.has(code) || refusals.size < MAX_CODES ? code : OTHER
  refusals.set(key, (refusals.get(key) ?? 0) + 1)
}

const bucketOf = (ms: number): number =>
  ms < FLOOR_MS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / FLOOR_MS) / LOG_RATIO))

/** A bucket's geometric middle, in milliseconds. */
const bucketMs = (bucket: number): number =>
  bucket === 0 ? FLOOR_MS : FLOOR_MS * RATIO ** (bucket - 0.5)

/**
 * The ring. `now` is the only clock; nothing here allocates on a request's path except a
 * minute's record (once a minute) and a series' histogram (once per series and minute).
 */
export function createRecentActivity(now: () => number) {
  const since = now()
  const ring: (LiveMinute | undefined)[] = new Array(MINUTES)
  // Route series are interned by listener, method and route, so recording one builds no key.
  const seriesIds = new Map<string, Map<string, Map<string, number>>>()
  // Id 0 is where series past the cap are counted.
  const seriesKeys: string[] = [OTHER]

  function current(): LiveMinute {
    const start = Math.floor(now() / MINUTE_MS) * MINUTE_MS
    const slot = (start / MINUTE_MS) % MINUTES
    let minute = ring[slot]
    if (minute?.start !== start) {
      minute = { start, ...newCounts(), latency: new Map(), tenants: new Map() }
      ring[slot] = minute
    }
    return minute
  }

  /** The minute's counts of the server, and of the tenant when one is given (and fits). */
  function countsOf(tenantId: string | undefined): Counts[] {
    const minute = current()
    if (tenantId === undefined) return [minute]
    let own = minute.tenants.get(tenantId)
    if (own === undefined && minute.tenants.size < MAX_TENANTS) {
      minute.tenants.set(tenantId, (own = newCounts()))
    }
    return own ? [minute, own] : [minute]
  }

  function seriesId(listener: string, method: string, route: string): number {
    let byMethod = seriesIds.get(listener)
    let byRoute = byMethod?.get(method)
    const id = byRoute?.get(route)
    if (id !== undefined) return id
    if (seriesKeys.length >= MAX_ROUTES) return 0
    if (byMethod === undefined) seriesIds.set(listener, (byMethod = new Map()))
    if (byRoute === undefined) byMethod.set(method, (byRoute = new Map()))
    byRoute.set(route, seriesKeys.length)
    return seriesKeys.push(`${listener} ${method} ${route}`) - 1
  }

  return {
    request(listener: string, route: string, method: string, seconds: number): void {
      const id = seriesId(listener, method, route)
      const latency = current().latency
      let histogram = latency.get(id)
      if (histogram === undefined) latency.set(id, (histogram = new Uint32Array(BUCKETS)))
      histogram[bucketOf(seconds * 1000)]!++
    },
    /** A refused request (every refusal passes here once), and the tenant's when one is known. */
    refused(code: string, tenantId?: string): void {
      for (const counts of countsOf(tenantId)) countRefusal(counts.refusals, code)
    },
    grantIssued(tenantId?: string): void {
      for (const counts of countsOf(tenantId)) counts.grantsIssued++
    },
    rotated(tenantId?: string): void {
      for (const counts of countsOf(tenantId)) counts.rotations++
    },
    introspected(active: boolean, tenantId?: string): void {
      for (const counts of countsOf(tenantId)) {
        if (active) counts.active++
        else counts.inactive++
      }
    },
    /**
     * The last hour, the current partial minute included: the server's, or one tenant's own
     * (its counts alone, no latency).
     */
    snapshot(scope: ActivityScope = 'server'): ActivitySnapshot {
      const oldest = Math.floor(now() / MINUTE_MS) * MINUTE_MS - (MINUTES - 1) * MINUTE_MS
      const minutes: [string, ActivityMinute][] = []
      for (const m of ring) {
        if (m === undefined || m.start < oldest) continue
        if (scope !== 'server') {
          const own = m.tenants.get(scope.tenantId)
          if (own) minutes.push([String(m.start), { ...minuteOf(own), latency: {} }])
          continue
        }
        const latency = [...m.latency].map(([id, histogram]) => {
          const counts: [string, number][] = []
          for (let bucket = 0; bucket < BUCKETS; bucket++) {
            if (histogram[bucket]! > 0) counts.push([String(bucket), histogram[bucket]!])
          }
          return [seriesKeys[id]!, Object.fromEntries(counts)] as const
        })
        minutes.push([String(m.start), { ...minuteOf(m), latency: Object.fromEntries(latency) }])
      }
      return { since, minutes: Object.fromEntries(minutes) }
    }
  }
}

export type RecentActivity = ReturnType<typeof createRecentActivity>

const minuteOf = (counts: Counts): Omit<ActivityMinute, 'latency'> => ({
  grantsIssued: counts.grantsIssued,
  rotations: counts.rotations,
  introspections: { active: counts.active, inactive: counts.inactive },
  refusals: Object.fromEntries(counts.refusals)
})

/**
 * Sums counts minute by minute: the workers' hour from each worker's, known since the first
 * worker started (one replaced later has figures for less).
 */
export function mergeSnapshots(snapshots: readonly ActivitySnapshot[]): ActivitySnapshot {
  // Maps, not object keys, while summing: a code or route named `__proto__` stays data.
  type Sum = Omit<ActivityMinute, 'refusals' | 'latency'> & {
    refusals: Map<string, number>
    latency: Map<string, Map<string, number>>
  }
  const sums = new Map<string, Sum>()
  const add = (map: Map<string, number>, key: string, n: number) =>
    map.set(key, (map.get(key) ?? 0) + n)
  for (const snapshot of snapshots) {
    for (const [start, m] of Object.entries(snapshot.minutes)) {
      let sum = sums.get(start)
      if (sum === undefined) {
        sum = {
          grantsIssued: 0,
          rotations: 0,
          introspections: { active: 0, inactive: 0 },
          refusals: new Map(),
          latency: new Map()
        }
        sums.set(start, sum)
      }
      sum.grantsIssued += m.grantsIssued
      sum.rotations += m.rotations
      sum.introspections.active += m.introspections.active
      sum.introspections.inactive += m.introspections.inactive
      for (const [code, n] of Object.entries(m.refusals)) add(sum.refusals, code, n)
      for (const [route, histogram] of Object.entries(m.latency)) {
        let buckets = sum.latency.get(route)
        if (buckets === undefined) sum.latency.set(route, (buckets = new Map()))
        for (const [bucket, n] of Object.entries(histogram)) add(buckets, bucket, n)
      }
    }
  }
  const minutes = [...sums].map(([start, sum]): [string, ActivityMinute] => [
    start,
    {
      ...sum,
      refusals: Object.fromEntries(sum.refusals),
      latency: Object.fromEntries([...sum.latency].map(([r, b]) => [r, Object.fromEntries(b)]))
    }
  ])
  const since = Math.min(...snapshots.map((snapshot) => snapshot.since))
  return { since: Number.isFinite(since) ? since : 0, minutes: Object.fromEntries(minutes) }
}

/**
 * What the overview draws: one value per minute of the last hour, oldest first, from the
 * server's start when that is within the hour.
 */
export interface OverviewSeries {
  /**
   * The minutes' starts (epoch ms), oldest first, the current minute last: the last 60, or
   * fewer, from the minute the server started.
   */
  minutes: number[]
  /** True when the server started within the hour: the minutes begin with its start. */
  sinceStart: boolean
  grantsIssued: number[]
  rotations: number[]
  introspections: { active: number[]; inactive: number[] }
  /** The most frequent codes first, at most six, then `other` for the rest. */
  refusals: { code: string; counts: number[] }[]
  /** The busiest route series first, at most six; null for a minute without requests. */
  p99: { route: string; ms: (number | null)[] }[]
  totals: {
    grantsIssued: number
    rotations: number
    introspections: { active: number; inactive: number }
    refusals: number
    requests: number
  }
}

const SHOWN = 6

/**
 * The 99th percentile of a histogram: the middle of the first bucket holding a request slower
 * than 99% of all, so one request in a hundred at 200 ms reads as 200 ms, not as the others'.
 */
export function p99Ms(histogram: Record<string, number>): number | null {
  const counts = new Array<number>(BUCKETS).fill(0)
  let total = 0
  for (const [bucket, n] of Object.entries(histogram)) {
    const i = Number(bucket)
    if (Number.isInteger(i) && i >= 0 && i < BUCKETS) counts[i]! += n
    total += n
  }
  if (total === 0) return null
  const rank = Math.min(total, Math.floor(total * 0.99) + 1)
  let seen = 0
  for (let i = 0; i < BUCKETS; i++) {
    seen += counts[i]!
    if (seen >= rank) return bucketMs(i)
  }
  return bucketMs(BUCKETS - 1)
}

/** The hour ending with the minute of `nowMs`, as the overview's charts draw it. */
export function overviewSeries(snapshot: ActivitySnapshot, nowMs: number): OverviewSeries {
  const last = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS
  const started = Math.min(last, Math.floor(snapshot.since / MINUTE_MS) * MINUTE_MS)
  const first = Math.max(last - (MINUTES - 1) * MINUTE_MS, started)
  const count = (last - first) / MINUTE_MS + 1
  const minutes = Array.from({ length: count }, (_, i) => first + i * MINUTE_MS)
  const at = minutes.map((start) => snapshot.minutes[String(start)])
  const per = (value: (m: ActivityMinute) => number) => at.map((m) => (m ? value(m) : 0))
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)

  const byCode = new Map<string, number[]>()
  const byRoute = new Map<string, { total: number; minutes: (Record<string, number> | null)[] }>()
  at.forEach((m, i) => {
    for (const [code, n] of Object.entries(m?.refusals ?? {})) {
      let counts = byCode.get(code)
      if (counts === undefined) byCode.set(code, (counts = new Array<number>(count).fill(0)))
      counts[i]! += n
    }
    for (const [route, histogram] of Object.entries(m?.latency ?? {})) {
      let series = byRoute.get(route)
      if (series === undefined) {
        series = { total: 0, minutes: new Array<null>(count).fill(null) }
        byRoute.set(route, series)
      }
      series.total += sum(Object.values(histogram))
      series.minutes[i] = histogram
    }
  })

  const codes = [...byCode]
    .map(([code, counts]) => ({ code, counts, total: sum(counts) }))
    .sort((a, b) => b.total - a.total || a.code.localeCompare(b.code))
  const shown = codes.filter((c) => c.code !== OTHER).slice(0, SHOWN)
  const rest = codes.filter((c) => !shown.includes(c))
  const refusals = shown.map(({ code, counts }) => ({ code, counts }))
  if (rest.length > 0) {
    refusals.push({
      code: OTHER,
      counts: minutes.map((_, i) => sum(rest.map((c) => c.counts[i]!)))
    })
  }

  const routes = [...byRoute].sort(([a, x], [b, y]) => y.total - x.total || a.localeCompare(b))
  const grantsIssued = per((m) => m.grantsIssued)
  const rotations = per((m) => m.rotations)
  const active = per((m) => m.introspections.active)
  const inactive = per((m) => m.introspections.inactive)
  return {
    minutes,
    sinceStart: first === started,
    grantsIssued,
    rotations,
    introspections: { active, inactive },
    refusals,
    p99: routes.slice(0, SHOWN).map(([route, { minutes: hs }]) => ({
      route,
      ms: hs.map((h) => (h ? p99Ms(h) : null))
    })),
    totals: {
      grantsIssued: sum(grantsIssued),
      rotations: sum(rotations),
      introspections: { active: sum(active), inactive: sum(inactive) },
      refusals: sum(codes.map((c) => c.total)),
      requests: sum(routes.map(([, r]) => r.total))
    }
  }
}
