import type { Metrics } from '../../metrics/metrics.js'
import { overviewSeries } from '../../metrics/recent-activity.js'
import { consolePage, e, type Viewer } from './layout.js'
import { renderOverviewCharts } from './overview-charts.js'

/**
 * The charts of the last hour from this server's own figures (every worker's under --workers),
 * or a sentence saying why they cannot be shown now. The operator sees the whole server's; any
 * other tenant its own alone, without the routes' latency (the whole server's: see
 * metrics/recent-activity.ts).
 */
export async function overviewCharts(
  metrics: Pick<Metrics, 'recent'>,
  viewer: Viewer,
  nowMs: number,
  onError: (err: unknown) => void
): Promise<string> {
  try {
    const scope = viewer.isOperator ? 'server' : { tenantId: viewer.tenantId }
    return renderOverviewCharts(overviewSeries(await metrics.recent(scope), nowMs), {
      latency: viewer.isOperator
    })
  } catch (err) {
    onError(err)
    return `<p class="error" role="alert">${e('The figures of the last hour could not be collected from every worker. Reload in a moment.')}</p>`
  }
}

/** The overview: is anything wrong right now? */
export function overviewPage(view: { viewer: Viewer; charts: string }) {
  return consolePage(
    { title: 'Overview', viewer: view.viewer, section: 'overview', script: true },
    `<h1>The last hour</h1>
<p>${
      view.viewer.isOperator
        ? "Per minute, in UTC, from this server's own figures since it started (Prometheus at <code>/metrics</code> keeps longer history)."
        : "Per minute, in UTC, your tenant's own figures on this server since it started."
    }</p>
<p class="actions"><button type="button" id="live" class="quiet" aria-pressed="false" hidden>Pause live updates</button>
<span id="live-status" role="status" class="muted"></span></p>
<div id="charts">${view.charts}</div>`
  )
}
