/** Latency summary of one run, in milliseconds. */
export interface LatencySummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/**
 * Latencies are kept in a preallocated Float64Array (no per-request allocation) and sorted once
 * at the end: exact percentiles, and at most --max-requests values, so no histogram is needed.
 */
export class LatencyRecorder {
  private readonly values: Float64Array
  private n = 0

  constructor(capacity: number) {
    this.values = new Float64Array(capacity)
  }

  get count(): number {
    return this.n
  }

  record(ms: number): void {
    if (this.n < this.values.length) this.values[this.n++] = ms
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.n).sort()
    let sum = 0
    for (const v of sorted) sum += v
    return {
      count: this.n,
      mean: this.n === 0 ? 0 : sum / this.n,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: this.n === 0 ? 0 : (sorted[this.n - 1] ?? 0)
    }
  }
}

/** Nearest-rank percentile of an ascending array (0 for an empty one). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0
}

/** Problems seen in a run: a label (HTTP status, `network ...`, `unexpected ...`) to a count and one sample. */
export class ErrorTally {
  readonly byLabel = new Map<string, { count: number; sample: string }>()

  add(label: string, sample: string): void {
    const entry = this.byLabel.get(label)
    if (entry) entry.count++
    else this.byLabel.set(label, { count: 1, sample: sample.slice(0, 300) })
  }

  get total(): number {
    let total = 0
    for (const { count } of this.byLabel.values()) total += count
    return total
  }

  toJSON(): Record<string, { count: number; sample: string }> {
    return Object.fromEntries(this.byLabel)
  }
}

/** The median of some values (NaN for none): the middle one, or the mean of the middle two. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
