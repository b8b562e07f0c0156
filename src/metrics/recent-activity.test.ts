import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  MINUTE_MS,
  createRecentActivity,
  mergeSnapshots,
  overviewSeries,
  p99Ms,
  type ActivitySnapshot
} from './recent-activity.js'
import { recentActivityClient, recentActivityHub, type WorkerPort } from './worker-metrics.js'
import { workersOf } from '../../test/helpers/worker-ipc.js'

const T0 = Date.UTC(2025, 4, 1, 12, 0, 0)

/** A recorder at `start`, of a server that started `startedAt` (an hour before, unless said). */
function ring(start = T0, startedAt = start - 60 * MINUTE_MS) {
  const clock = { now: startedAt }
  const activity = createRecentActivity(() => clock.now)
  clock.now = start
  return { clock, activity }
}

const near = (actual: number | null, expected: number) => {
  assert.ok(actual !== null, 'a p99')
  assert.ok(
    Math.abs(actual - expected) / expected <= 0.06,
    `${actual} is not within 6% of ${expected}`
  )
}

test('counts fall into the minute they happen in, keyed by its start', () => {
  const { clock, activity } = ring(T0 + 59_999)
  activity.grantIssued()
  activity.rotated()
  activity.introspected(true)
  clock.now = T0 + MINUTE_MS
  activity.grantIssued()
  activity.grantIssued()
  activity.introspected(false)
  const { minutes } = activity.snapshot()
  assert.deepEqual(Object.keys(minutes).sort(), [String(T0), String(T0 + MINUTE_MS)])
  assert.equal(minutes[String(T0)]?.grantsIssued, 1)
  assert.equal(minutes[String(T0)]?.rotations, 1)
  assert.deepEqual(minutes[String(T0 + MINUTE_MS)]?.introspections, { active: 0, inactive: 1 })
  assert.equal(minutes[String(T0 + MINUTE_MS)]?.grantsIssued, 2)
})

test('a minute rolls off once it is 60 minutes old, and its slot starts afresh', () => {
  const { clock, activity } = ring()
  activity.grantIssued()
  clock.now = T0 + 59 * MINUTE_MS
  assert.ok(String(T0) in activity.snapshot().minutes, 'still the last hour')
  clock.now = T0 + 60 * MINUTE_MS
  assert.deepEqual(activity.snapshot().minutes, {}, 'an hour later it is gone')
  activity.rotated() // the same slot of the ring
  const { minutes } = activity.snapshot()
  assert.deepEqual(Object.keys(minutes), [String(T0 + 60 * MINUTE_MS)])
  assert.equal(minutes[String(T0 + 60 * MINUTE_MS)]?.grantsIssued, 0)
  assert.equal(minutes[String(T0 + 60 * MINUTE_MS)]?.rotations, 1)
})

test('p99 is within the histogram resolution for a known distribution', () => {
  const { activity } = ring()
  for (let i = 0; i < 990; i++) activity.request('auth', '/', 'POST', 0.002)
  for (let i = 0; i < 10; i++) activity.request('auth', '/', 'POST', 0.2)
  for (let i = 0; i < 1000; i++) activity.request('auth', '/token/:id', 'POST', 0.005)
  const series = overviewSeries(activity.snapshot(), T0)
  const [slow, even] = ['auth POST /', 'auth POST /token/:id'].map(
    (route) => series.p99.find((p) => p.route === route)?.ms.at(-1) ?? null
  )
  near(slow ?? null, 200)
  near(even ?? null, 5)
  assert.equal(series.totals.requests, 2000)
  assert.equal(p99Ms({}), null)
  near(p99Ms({ 0: 1 }), 0.1)
})

test('p99 per minute is null where a route had no request, and the busiest routes come first', () => {
  const { clock, activity } = ring()
  for (let r = 0; r < 8; r++) {
    for (let i = 0; i <= r; i++) activity.request('auth', `/r${r}`, 'GET', 0.001)
  }
  clock.now = T0 + 2 * MINUTE_MS
  const series = overviewSeries(activity.snapshot(), clock.now)
  assert.deepEqual(
    series.p99.map((p) => p.route),
    ['auth GET /r7', 'auth GET /r6', 'auth GET /r5', 'auth GET /r4', 'auth GET /r3', 'auth GET /r2']
  )
  const ms = series.p99[0]!.ms
  assert.equal(ms.length, 60)
  near(ms[57]!, 1)
  assert.deepEqual([ms[58], ms[59]], [null, null])
})

test('the overview spans 60 minutes, oldest first, even when idle', () => {
  const series = overviewSeries({ since: T0 - 2 * 60 * MINUTE_MS, minutes: {} }, T0 + 30_000)
  assert.equal(series.sinceStart, false)
  assert.equal(series.minutes.length, 60)
  assert.equal(series.minutes.at(-1), T0)
  assert.equal(series.minutes[0], T0 - 59 * MINUTE_MS)
  assert.deepEqual(series.grantsIssued, new Array(60).fill(0))
  assert.deepEqual(series.refusals, [])
  assert.deepEqual(series.p99, [])
  assert.equal(series.totals.refusals, 0)
})

test('the overview of a server that started within the hour begins at its start', () => {
  const { clock, activity } = ring(T0 + 30_000, T0 + 30_000)
  activity.grantIssued()
  clock.now = T0 + 2 * MINUTE_MS + 5_000
  activity.grantIssued()
  const series = overviewSeries(activity.snapshot(), clock.now)
  assert.equal(series.sinceStart, true)
  assert.deepEqual(series.minutes, [T0, T0 + MINUTE_MS, T0 + 2 * MINUTE_MS])
  assert.deepEqual(series.grantsIssued, [1, 0, 1])
  // Started this very minute: one minute, not an hour of zeros before it.
  const fresh = ring(T0 + 10_000, T0 + 10_000).activity.snapshot()
  assert.deepEqual(overviewSeries(fresh, T0 + 20_000).minutes, [T0])
  // The merge of workers' hours: since the first worker started.
  const later = ring(T0, T0 - 5 * MINUTE_MS).activity.snapshot()
  const earlier = ring(T0, T0 - 20 * MINUTE_MS).activity.snapshot()
  assert.equal(mergeSnapshots([later, earlier]).since, T0 - 20 * MINUTE_MS)
  assert.equal(overviewSeries(mergeSnapshots([later, earlier]), T0).minutes.length, 21)
})

test('refusals: at most 50 codes a minute, six shown by frequency, the rest as other', () => {
  const { activity } = ring()
  for (let c = 0; c < 60; c++) activity.refused(`code_${String(c).padStart(2, '0')}`)
  for (let i = 0; i < 5; i++) activity.refused('invalid_client')
  for (let i = 0; i < 3; i++) activity.refused('too_fast')
  const refusals = activity.snapshot().minutes[String(T0)]!.refusals
  assert.equal(Object.keys(refusals).length, 51, '50 codes and other')
  assert.equal(refusals.other, 10 + 5 + 3, 'codes past the cap, even known ones')

  const series = overviewSeries(activity.snapshot(), T0)
  assert.deepEqual(
    series.refusals.map((r) => [r.code, r.counts.at(-1)]),
    [...[0, 1, 2, 3, 4, 5].map((c) => [`code_0${c}`, 1]), ['other', 44 + 18]]
  )
  assert.equal(series.totals.refusals, 68)
})

test('refusals: the top six by the hour, then other holding the rest', () => {
  const { activity } = ring()
  const counts = { a: 9, b: 8, c: 7, d: 6, e: 5, f: 4, g: 3, h: 2 }
  for (const [code, n] of Object.entries(counts)) for (let i = 0; i < n; i++) activity.refused(code)
  const series = overviewSeries(activity.snapshot(), T0)
  assert.deepEqual(
    series.refusals.map((r) => [r.code, r.counts.at(-1)]),
    [
      ['a', 9],
      ['b', 8],
      ['c', 7],
      ['d', 6],
      ['e', 5],
      ['f', 4],
      ['other', 5]
    ]
  )
})

test('merging sums counts and histograms minute by minute', () => {
  const one = ring()
  const two = ring()
  for (const { activity } of [one, two]) {
    activity.grantIssued()
    activity.introspected(true)
    activity.refused('invalid_client')
    for (let i = 0; i < 50; i++) activity.request('auth', '/', 'POST', 0.002)
  }
  two.activity.refused('__proto__')
  two.clock.now = T0 + MINUTE_MS
  two.activity.rotated()
  // Through JSON, as over IPC.
  const wire = (s: ActivitySnapshot) => JSON.parse(JSON.stringify(s)) as ActivitySnapshot
  const merged = mergeSnapshots([wire(one.activity.snapshot()), wire(two.activity.snapshot())])
  const first = merged.minutes[String(T0)]!
  assert.equal(first.grantsIssued, 2)
  assert.deepEqual(first.introspections, { active: 2, inactive: 0 })
  assert.equal(first.refusals.invalid_client, 2)
  assert.equal(Object.getOwnPropertyDescriptor(first.refusals, '__proto__')?.value, 1)
  assert.deepEqual(Object.values(first.latency['auth POST /']!), [100])
  assert.equal(merged.minutes[String(T0 + MINUTE_MS)]?.rotations, 1)
  assert.equal(overviewSeries(merged, T0 + MINUTE_MS).totals.requests, 100)
})

test('route series are capped: past the cap they count as other', () => {
  const { activity } = ring()
  for (let r = 0; r < 250; r++) activity.request('auth', `/r${r}`, 'GET', 0.001)
  const latency = activity.snapshot().minutes[String(T0)]!.latency
  assert.equal(Object.keys(latency).length, 200)
  assert.deepEqual(Object.values(latency.other!), [51])
})

test('workers: the primary asks every worker and answers with the merge', async () => {
  const workers = [1, 2].map((id) => {
    const { activity } = ring()
    for (let i = 0; i < id; i++) activity.grantIssued()
    return { id, activity }
  })
  const clients = workersOf(workers)
  const merged = await clients[1]!.recent()
  assert.equal(merged.minutes[String(T0)]?.grantsIssued, 3)
})

test('workers: a worker that does not answer fails the request with an error', async () => {
  const { activity } = ring()
  const silent: WorkerPort = { id: 2, isConnected: () => true, send: () => true }
  const ports: WorkerPort[] = [silent]
  const hub = recentActivityHub(() => ports, 20)
  const port: WorkerPort = {
    id: 1,
    isConnected: () => true,
    send: (message) => setImmediate(() => client.onMessage(message))
  }
  const client = recentActivityClient(
    (message) => setImmediate(() => hub(port, message)),
    activity.snapshot,
    1000
  )
  ports.push(port)
  await assert.rejects(client.recent(), /1 of 2 workers did not answer in time/)
})
