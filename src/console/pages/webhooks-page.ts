import type { DeliveryView } from '../../webhook/webhook-store.js'
import { deliveryStates, type WebhookValues } from '../webhook-forms.js'
import { ageInWords, deliveryInWords } from './delivery-words.js'
import { consolePage, e, formTokenField, pager, when, type Viewer } from './layout.js'

/** The whole server's deliveries by state (the webhook service's `stats`). */
export interface WebhookStats {
  pending: number
  delivered: number
  failed: number
  oldestUndeliveredSeconds: number
}

export interface WebhooksView {
  viewer: Viewer
  /** The filters as typed, shown again in the form. */
  values: WebhookValues
  /** The moment the states are told at (a retry's time against it). */
  now: number
  /** Newest first; absent when the filters were refused. */
  deliveries?: DeliveryView[]
  /** The operator's summary line; a tenant is not shown the other tenants' counts. */
  stats?: WebhookStats
  problem?: string
  flash?: string
  /** This page is not the first: offer the newest again. */
  paged?: boolean
  /** The cursor of the next (older) page, when there is one. */
  older?: string
}

/** The page's address with these filters (the empty ones left out) and a cursor. */
export function webhooksUrl(values: WebhookValues, before?: string): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(values)) if (value) query.set(name, value)
  if (before) query.set('before', before)
  const text = query.toString()
  return text ? `/webhooks?${text}` : '/webhooks'
}

const stateNames: Record<(typeof deliveryStates)[number], string> = {
  pending: 'Pending (waiting or queued)',
  delivered: 'Delivered',
  failed: 'Given up'
}

function filterForm(values: WebhookValues): string {
  const option = (value: string, text: string) =>
    `<option value="${e(value)}"${values.state === value ? ' selected' : ''}>${e(text)}</option>`
  const options = [option('', 'Any state'), ...deliveryStates.map((s) => option(s, stateNames[s]))]
  return `<form class="search" method="get" action="/webhooks" role="search">
<label class="status-filter" for="state">State<select id="state" name="state">${options.join('')}</select></label>
<label for="grant">Grant ID<span class="hint">One grant's webhooks</span>
<input id="grant" name="grant" type="text" spellcheck="false" autocapitalize="none" placeholder="0190c6a2-…" value="${e(values.grant)}"></label>
<button type="submit">Filter</button>
</form>`
}

function summary(stats: WebhookStats): string {
  const oldest =
    stats.oldestUndeliveredSeconds > 0
      ? `the oldest event not yet delivered is ${ageInWords(stats.oldestUndeliveredSeconds)} old.`
      : 'every event is delivered or given up.'
  return `<p role="status">${stats.pending} pending, ${stats.delivered} delivered, ${stats.failed} given up; ${e(oldest)}</p>`
}

/** "Retry now": posts the delivery's id with the filters to return to. */
const retryForm = (d: DeliveryView, view: WebhooksView) =>
  `<div class="actions"><form method="post" action="/webhooks/${e(d.id)}/retry">${formTokenField(view.viewer)}
<input type="hidden" name="state" value="${e(view.values.state)}"><input type="hidden" name="grant" value="${e(view.values.grant)}">
<button type="submit" class="quiet">Retry now</button></form></div>`

function deliveryRow(d: DeliveryView, view: WebhooksView): string {
  const words = deliveryInWords(d, view.now)
  const grantId = d.grantId ?? undefined
  const facts = [
    grantId ? `Grant <a href="/grants/${e(grantId)}"><code>${e(grantId)}</code></a>` : '',
    view.viewer.isOperator
      ? d.tenantId
        ? `To tenant <code>${e(d.tenantId)}</code>'s webhook URL`
        : 'To WEBHOOK_URL'
      : '',
    `Webhook <code>${e(d.id)}</code>`
  ].filter(Boolean)
  return `<li>
<div class="row-head"><strong>${e(d.type)}</strong>${when(d.createdAt)}</div>
<p class="detail"><span class="state">${e(stateNames[d.state])}</span> ${e(words.state)}</p>
${words.failure ? `<p class="detail">${e(words.failure)}</p>` : ''}
<p class="detail muted">${facts.join(' · ')}</p>
${words.retryable ? retryForm(d, view) : ''}
</li>`
}

/**
 * The webhooks told to the wallet's backend, newest first: each one's state in words (waiting,
 * queued, being tried, delivered, given up, and the last error), filtered by state and grant,
 * with "retry now"; the operator sees every one and the summary, a tenant those to its own URL.
 */
export function webhooksPage(view: WebhooksView) {
  const { viewer, deliveries } = view
  const whose = viewer.isOperator
    ? "Every webhook: those to WEBHOOK_URL and those to tenants' own webhook URLs."
    : "The webhooks sent to your tenant's webhook URL."
  const problem = view.problem ? `<p class="error" role="alert">${e(view.problem)}</p>` : ''
  const results = view.problem
    ? ''
    : !deliveries?.length
      ? `<p role="status">No webhooks${view.paged ? ' before these' : ''} match.</p>`
      : `<ol class="rows" aria-label="Webhooks, newest first">${deliveries.map((d) => deliveryRow(d, view)).join('')}</ol>`
  const pages = pager({
    ...(view.paged ? { newer: { href: webhooksUrl(view.values), text: 'Newest webhooks' } } : {}),
    ...(view.older
      ? { older: { href: webhooksUrl(view.values, view.older), text: 'Older webhooks' } }
      : {})
  })
  return consolePage(
    {
      title: 'Webhooks',
      viewer,
      section: 'webhooks',
      ...(view.flash ? { flash: view.flash } : {})
    },
    `<h1>Webhooks</h1>
<p>${e(whose)} Newest first, times in UTC.</p>
${view.stats ? summary(view.stats) : ''}
${problem}${filterForm(view.values)}
${results}
${pages}`
  )
}
