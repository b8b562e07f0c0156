import { scaleLinear, scaleUtc } from 'd3-scale'
import { line } from 'd3-shape'
import escapeHtml from 'escape-html'
import { MINUTE_MS, type OverviewSeries } from '../../metrics/recent-activity.js'

/**
 * The console overview's charts, drawn on the server as inline SVG: the page needs no script to
 * show them, and its CSP allows no inline style (presentation attributes and classes only; the
 * rules are `chartCss`, which the console adds to its hashed style sheet). Colours come from
 * `currentColor` and CSS variables, so dark mode is the page's. A series is told apart by its
 * dash pattern and named in a text legend, never by colour alone, and every chart's figures are
 * in a table too. d3-scale and d3-shape (pure, no DOM) give the nice ticks, the UTC time ticks
 * and the paths with gaps, which would otherwise be our own numerics to get right.
 */

const WIDTH = 320
const HEIGHT = 150
const LEFT = 38
const RIGHT = WIDTH - 10
const TOP = 8
const BOTTOM = HEIGHT - 20
/** One per series, in order: solid first, then patterns distinct at a glance. */
const DASHES = ['', '6 3', '2 2', '8 3 2 3', '1 4', '12 4', '4 2 1 2 1 2']
const COLOURS = ['var(--accent, #1f5fbf)', '#b35900', '#7b4bb3', '#00807f', '#b3306a', '#5f6f00']
const DARK = ['var(--accent, #8ab4f8)', '#f0a35e', '#c9a8f5', '#5fd3d3', '#f08bb8', '#c4d66b']
/** Rows in a chart's figures table: the latest minutes that had any. */
const TABLE_ROWS = 10

/** The rules the charts need, for the console's style sheet. */
export const chartCss = [
  '.oc-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,19rem),1fr));gap:1.25rem 1.5rem}',
  `.oc-grid{${COLOURS.map((c, i) => `--oc-${i}:${c}`).join(';')};--oc-6:currentColor}`,
  `@media (prefers-color-scheme:dark){.oc-grid{${DARK.map((c, i) => `--oc-${i}:${c}`).join(';')}}}`,
  DASHES.map((_, i) => `.oc-s${i}{stroke:var(--oc-${i})}`).join(''),
  '.oc-chart{margin:0;min-width:0}',
  '.oc-chart figcaption{margin-bottom:.25rem}',
  '.oc-total{font-weight:400;opacity:.8}',
  '.oc-svg{display:block;width:100%;height:auto}',
  '.oc-legend{list-style:none;margin:.25rem 0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.85rem;overflow-wrap:anywhere}',
  '.oc-key{width:1.75rem;height:.5rem;margin-right:.35rem}',
  '.oc-chart details{overflow-x:auto;font-size:.85rem}',
  '.oc-chart td,.oc-chart th{padding:.1rem .5rem;text-align:right}',
  '.oc-chart td:first-child,.oc-chart th:first-child{text-align:left}'
].join('\n')

interface Line {
  label: string
  values: readonly (number | null)[]
}

interface Chart {
  id: string
  title: string
  /** The caption's figure: the hour's total, or the latest p99. */
  total: string
  lines: Line[]
  /** Counts take whole-number ticks; latencies do not. */
  whole: boolean
  /**
   * Its lines are what the chart is by (refusal reasons, routes): named in the legend even when
   * there is one, which the caption would not say otherwise.
   */
  by?: boolean
}

/** The shortest span of the time axis: a server that just started still gets a readable one. */
const SHORTEST_SPAN_MS = 5 * MINUTE_MS

const e = (text: string | number) => escapeHtml(String(text))
const pad = (n: number) => String(n).padStart(2, '0')
const hhmm = (ms: number | Date) => {
  const d = new Date(ms)
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}
/** A coordinate to a tenth of a unit: enough for a 320-unit chart, and short markup. */
const r = (n: number) => Math.round(n * 10) / 10
const formatMs = (ms: number) => String(Number(ms.toPrecision(3)))
const isEmpty = (lines: Line[]) => lines.every((l) => l.values.every((v) => v === null || v === 0))

/**
 * The overview's section: one figure per chart, laid out by `chartCss`'s grid. `latency: false`
 * leaves the routes' p99 out (a tenant's overview: the figure is the whole server's).
 */
export function renderOverviewCharts(
  series: OverviewSeries,
  options: { latency: boolean } = { latency: true }
): string {
  const { totals } = series
  const busiest = series.p99[0]
  const latest = busiest?.ms.findLastIndex((v) => v !== null) ?? -1
  // Before the server started there are no figures, not zeros: the charts begin at its start.
  const period = series.sinceStart
    ? `since ${hhmm(series.minutes[0]!)}, when the server started`
    : 'in the last hour'
  const charts: Chart[] = [
    {
      id: 'grants',
      title: 'Grants issued',
      total: `${totals.grantsIssued} ${period}`,
      lines: [{ label: 'grants issued', values: series.grantsIssued }],
      whole: true
    },
    {
      id: 'rotations',
      title: 'Token rotations',
      total: `${totals.rotations} ${period}`,
      lines: [{ label: 'rotations', values: series.rotations }],
      whole: true
    },
    {
      id: 'introspections',
      title: 'Introspections',
      total: `${totals.introspections.active} active, ${totals.introspections.inactive} inactive ${period}`,
      lines: [
        { label: 'active', values: series.introspections.active },
        { label: 'inactive', values: series.introspections.inactive }
      ],
      whole: true
    },
    {
      id: 'refusals',
      title: 'Refusals by reason',
      total: `${totals.refusals} ${period}`,
      lines: series.refusals.map((r) => ({ label: r.code, values: r.counts })),
      whole: true,
      by: true
    },
    {
      id: 'p99',
      title: 'p99 latency by route (ms)',
      total:
        busiest && latest >= 0
          ? `${busiest.route}: ${formatMs(busiest.ms[latest]!)} ms at ${hhmm(series.minutes[latest]!)}`
          : '',
      lines: series.p99.map((p) => ({ label: p.route, values: p.ms })),
      whole: false,
      by: true
    }
  ].filter((chart) => options.latency || chart.id !== 'p99')
  return `<section class="oc-grid" aria-label="The last hour, per minute (UTC)">
${charts.map((chart) => renderChart(chart, series.minutes, period)).join('\n')}
</section>`
}

function renderChart(chart: Chart, minutes: readonly number[], period: string): string {
  const empty = isEmpty(chart.lines)
  const lines = empty ? [{ label: '', values: minutes.map(() => 0) }] : chart.lines
  const max = Math.max(0, ...lines.flatMap((l) => l.values.filter((v) => v !== null)))
  const y = scaleLinear()
    .domain([0, max || 1])
    .range([BOTTOM, TOP])
    .nice(4)
  // The axis begins at the first minute charted (the server's start, within the hour); a
  // server up for a few minutes gets the next ones too, blank, rather than the ones before it.
  const first = minutes[0]!
  const x = scaleUtc()
    .domain([first, Math.max(minutes[minutes.length - 1]!, first + SHORTEST_SPAN_MS)])
    .range([LEFT, RIGHT])
  const yTicks = y.ticks(4).filter((t) => !chart.whole || Number.isInteger(t))
  const yLabel = chart.whole ? (t: number) => t.toLocaleString('en-US') : y.tickFormat(4)
  const path = line<number | null>()
    .defined((v) => v !== null)
    .x((_, i) => x(minutes[i]!))
    .y((v) => y(v ?? 0))
    .digits(1)

  const grid = yTicks.map(
    (t) =>
      `<line x1="${LEFT}" x2="${RIGHT}" y1="${r(y(t))}" y2="${r(y(t))}" stroke="currentColor" stroke-opacity="${t === 0 ? 0.5 : 0.15}"/><text x="${LEFT - 4}" y="${r(y(t) + 3)}" text-anchor="end">${e(yLabel(t))}</text>`
  )
  const xTicks = x
    .ticks(4)
    .map((t) => `<text x="${r(x(t))}" y="${HEIGHT - 5}" text-anchor="middle">${hhmm(t)}</text>`)
  const drawn = lines.map((l, i) => {
    const attributes = `class="oc-s${i}" fill="none" stroke-width="1.5"${DASHES[i] ? ` stroke-dasharray="${DASHES[i]}"` : ''}`
    // A minute alone between gaps (p99) draws no segment: a ring marks it.
    const dots = l.values.flatMap((v, j) =>
      v !== null && (l.values[j - 1] ?? null) === null && (l.values[j + 1] ?? null) === null
        ? [`<circle cx="${r(x(minutes[j]!))}" cy="${r(y(v))}" r="2" ${attributes}/>`]
        : []
    )
    return `<path d="${path(l.values) ?? ''}" ${attributes}/>${dots.join('')}`
  })
  const nothing = empty
    ? `<text x="${(LEFT + RIGHT) / 2}" y="${(TOP + BOTTOM) / 2}" text-anchor="middle">nothing ${period}</text>`
    : ''
  const titleId = `oc-${chart.id}-title`
  const total = empty ? `nothing ${period}` : chart.total

  return `<figure class="oc-chart" id="oc-${chart.id}">
<figcaption><strong>${e(chart.title)}</strong>${total ? ` <span class="oc-total">${e(total)}</span>` : ''}</figcaption>
<svg class="oc-svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${titleId}">
<title id="${titleId}">${e(`${chart.title}, per minute${total ? `: ${total}` : ''}`)}</title>
<g fill="currentColor" font-size="10">${grid.join('')}${xTicks.join('')}${nothing}</g>
${drawn.join('\n')}
</svg>
${!empty && (chart.by || chart.lines.length > 1) ? legend(chart.lines) : ''}
${figures(chart, minutes, empty, period)}
</figure>`
}

function legend(lines: Line[]): string {
  const items = lines.map(
    (l, i) =>
      `<li><svg class="oc-key" viewBox="0 0 28 8" aria-hidden="true"><line x1="0" y1="4" x2="28" y2="4" class="oc-s${i}" stroke-width="2"${DASHES[i] ? ` stroke-dasharray="${DASHES[i]}"` : ''}/></svg>${e(l.label)}</li>`
  )
  return `<ul class="oc-legend">${items.join('')}</ul>`
}

/** The chart as numbers: the latest minutes that had any, for a screen reader or a test. */
function figures(chart: Chart, minutes: readonly number[], empty: boolean, period: string): string {
  const format = (v: number | null) => (v === null ? '–' : chart.whole ? String(v) : formatMs(v))
  const shown = minutes
    .map((_, i) => i)
    .filter((i) => chart.lines.some((l) => (l.values[i] ?? 0) !== 0))
    .slice(-TABLE_ROWS)
  const head = chart.lines.map((l) => `<th scope="col">${e(l.label)}</th>`).join('')
  const rows = shown.map(
    (i) =>
      `<tr><th scope="row">${hhmm(minutes[i]!)}</th>${chart.lines.map((l) => `<td>${format(l.values[i] ?? null)}</td>`).join('')}</tr>`
  )
  const body = empty
    ? `<tr><td colspan="${chart.lines.length + 1}">nothing ${period}</td></tr>`
    : rows.join('')
  return `<details><summary>Figures</summary><table><thead><tr><th scope="col">Minute (UTC)</th>${head}</tr></thead><tbody>${body}</tbody></table></details>`
}
