import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chartCss, renderOverviewCharts } from './overview-charts.js'
import { MINUTE_MS, createRecentActivity, overviewSeries } from '../../metrics/recent-activity.js'

const T0 = Date.UTC(2025, 4, 1, 12, 0, 0)
const TITLES = [
  'Grants issued',
  'Token rotations',
  'Introspections',
  'Refusals by reason',
  'p99 latency by route (ms)'
]

/** A server up for more than an hour. */
const longUp = { since: T0 - 2 * 60 * MINUTE_MS, minutes: {} }

function busyHour() {
  const clock = { now: T0 - 60 * MINUTE_MS }
  const activity = createRecentActivity(() => clock.now)
  clock.now = T0
  for (let i = 0; i < 3; i++) activity.grantIssued()
  activity.introspected(true)
  activity.refused('invalid_client')
  for (let i = 0; i < 100; i++)
    activity.request('admin', '/<script>alert(1)</script>', 'GET', 0.004)
  clock.now = T0 + 5 * MINUTE_MS
  activity.grantIssued()
  activity.rotated()
  activity.introspected(false)
  activity.refused('"><img src=x>')
  return renderOverviewCharts(overviewSeries(activity.snapshot(), clock.now))
}

/** The figures table of the chart titled `title`, as rows of cell texts. */
function figures(html: string, title: string): string[][] {
  const figure = html.split('<figure').find((f) => f.includes(`<strong>${title}</strong>`))
  assert.ok(figure, `a figure for ${title}`)
  const table = /<details><summary>Figures<\/summary><table>(.*?)<\/table><\/details>/s.exec(figure)
  assert.ok(table, `a figures table for ${title}`)
  return [...table[1]!.matchAll(/<tr>(.*?)<\/tr>/gs)].map((row) =>
    [...row[1]!.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((cell) => cell[1]!)
  )
}

test('one figure with a caption, a labelled SVG and a figures table per chart', () => {
  const html = busyHour()
  assert.equal(html.match(/<figure /g)?.length, TITLES.length)
  assert.equal(html.match(/<figcaption>/g)?.length, TITLES.length)
  assert.equal(html.match(/<details><summary>Figures<\/summary>/g)?.length, TITLES.length)
  for (const title of TITLES) assert.ok(html.includes(`<strong>${title}</strong>`), title)
  for (const [, id] of html.matchAll(/<svg class="oc-svg"[^>]*aria-labelledby="([^"]+)"/g)) {
    assert.match(html, new RegExp(`<title id="${id}">`))
  }
  assert.equal(html.match(/role="img"/g)?.length, TITLES.length)
  assert.match(html, /Grants issued<\/strong> <span class="oc-total">4 in the last hour/)
})

test('no inline style anywhere: strict CSP', () => {
  const html = busyHour() + renderOverviewCharts(overviewSeries(longUp, T0))
  assert.doesNotMatch(html, /style=/i)
  assert.doesNotMatch(html, /<style/i)
})

test('every text is escaped: a hostile route or code stays text', () => {
  const html = busyHour()
  assert.doesNotMatch(html, /<script/i)
  assert.doesNotMatch(html, /<img/i)
  assert.ok(html.includes('admin GET /&lt;script&gt;alert(1)&lt;/script&gt;'))
  assert.ok(html.includes('&quot;&gt;&lt;img src=x&gt;'))
})

test('the figures tables hold the recorded values, per minute (UTC)', () => {
  const html = busyHour()
  assert.deepEqual(figures(html, 'Grants issued'), [
    ['Minute (UTC)', 'grants issued'],
    ['12:00', '3'],
    ['12:05', '1']
  ])
  assert.deepEqual(figures(html, 'Introspections'), [
    ['Minute (UTC)', 'active', 'inactive'],
    ['12:00', '1', '0'],
    ['12:05', '0', '1']
  ])
  const refusals = figures(html, 'Refusals by reason')
  assert.deepEqual(refusals.slice(1), [
    ['12:00', '0', '1'],
    ['12:05', '1', '0']
  ])
  const p99 = figures(html, 'p99 latency by route (ms)')
  assert.equal(p99.length, 2)
  assert.ok(Math.abs(Number(p99[1]![1]) - 4) < 0.25, `${p99[1]![1]} ms is about 4 ms`)
})

test('an idle hour draws a flat line at zero and says so', () => {
  const html = renderOverviewCharts(overviewSeries(longUp, T0))
  assert.equal(html.match(/<text[^>]*>nothing in the last hour<\/text>/g)?.length, TITLES.length)
  assert.match(html, /Grants issued<\/strong> <span class="oc-total">nothing in the last hour/)
  const flat = [...html.matchAll(/<path d="(M[\d.]+,([\d.]+)L[^"]*)"/g)]
  assert.equal(flat.length, TITLES.length)
  for (const [, d = '', y] of flat) {
    assert.ok(
      d.split(/[ML]/).every((p) => !p || p.endsWith(`,${y}`)),
      d
    )
  }
})

test('series are told apart by a dash pattern and a text legend, not colour alone', () => {
  const html = busyHour()
  const introspections = html.split('<figure').find((f) => f.includes('Introspections'))!
  assert.match(introspections, /<ul class="oc-legend"><li>.*active<\/li><li>.*inactive<\/li><\/ul>/)
  assert.match(introspections, /<path [^>]*class="oc-s1"[^>]*stroke-dasharray="/)
})

test('the chart CSS sizes the SVG by class and lays the charts in a grid', () => {
  assert.match(chartCss, /\.oc-svg\{[^}]*width:100%/)
  assert.match(chartCss, /\.oc-grid\{display:grid/)
  assert.match(chartCss, /prefers-color-scheme:dark/)
})

test('the charts of a server that started within the hour begin at its start, and say so', () => {
  const clock = { now: T0 + 20_000 }
  const activity = createRecentActivity(() => clock.now)
  activity.refused('too_fast')
  clock.now = T0 + 3 * MINUTE_MS
  activity.grantIssued()
  const html = renderOverviewCharts(overviewSeries(activity.snapshot(), clock.now))
  assert.match(
    html,
    /Grants issued<\/strong> <span class="oc-total">1 since 12:00, when the server started/
  )
  assert.match(
    html,
    /Token rotations<\/strong> <span class="oc-total">nothing since 12:00, when the server started/
  )
  // The grants line: the four minutes since the start (12:00-12:03), never the hour before.
  const grants = html.split('<figure').find((f) => f.includes('<strong>Grants issued</strong>'))!
  const path = /<path d="([^"]+)"/.exec(grants)![1]!
  assert.equal(path.split(/[ML]/).filter(Boolean).length, 4, path)
})

test('a refusal chart names its reasons, even when there is one', () => {
  const clock = { now: T0 - 60 * MINUTE_MS }
  const activity = createRecentActivity(() => clock.now)
  clock.now = T0
  activity.refused('invalid_client')
  const html = renderOverviewCharts(overviewSeries(activity.snapshot(), T0))
  const refusals = html.split('<figure').find((f) => f.includes('Refusals by reason'))!
  assert.match(refusals, /<ul class="oc-legend"><li>.*invalid_client<\/li><\/ul>/)
})

test("a tenant's overview has no latency chart; the operator's has", () => {
  const A = '0b9d4a3e-8c1f-4e2a-9b7d-6c5e4f3a2b10'
  const B = '5f0c2d1e-3a4b-4c5d-8e6f-7a8b9c0d1e2f'
  const activity = createRecentActivity(() => T0)
  activity.grantIssued(A)
  activity.grantIssued(B)
  activity.grantIssued(B)
  activity.request('service', '/tenant', 'POST', 0.5)
  const own = renderOverviewCharts(overviewSeries(activity.snapshot({ tenantId: B }), T0), {
    latency: false
  })
  assert.ok(!own.includes('id="oc-p99"'))
  assert.ok(!own.includes('service POST /tenant'))
  assert.match(
    own,
    /Grants issued<\/strong> <span class="oc-total">2 since 12:00, when the server started/
  )
  const server = renderOverviewCharts(overviewSeries(activity.snapshot(), T0))
  assert.ok(server.includes('id="oc-p99"'))
  assert.match(
    server,
    /Grants issued<\/strong> <span class="oc-total">3 since 12:00, when the server started/
  )
})
