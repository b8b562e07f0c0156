import type { AuditEvent } from '../../audit/events.js'
import {
  actorInWords,
  detailsInWords,
  eventTitle,
  eventTypeGroups
} from '../../consent/event-words.js'
import type { ActivityValues } from '../console-forms.js'
import { consolePage, e, pager, when, type Viewer } from './layout.js'

export interface ActivityView {
  viewer: Viewer
  /** The filters as typed, shown again in the form. */
  values: ActivityValues
  /** Newest first; absent when the filters were refused. */
  events?: AuditEvent[]
  /** Why the filters were refused, in words. */
  problem?: string
  /** This page is not the first: offer the newest again. */
  paged?: boolean
  /** The cursor of the next (older) page, when there is one. */
  older?: string
}

/** The page's address with these filters (the empty ones left out) and a cursor. */
export function activityUrl(values: ActivityValues, before?: string): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(values)) if (value) query.set(name, value)
  if (before) query.set('before', before)
  const text = query.toString()
  return text ? `/activity?${text}` : '/activity'
}

function typeOptions(chosen: string): string {
  const option = (value: string, text: string) =>
    `<option value="${e(value)}"${chosen === value ? ' selected' : ''}>${e(text)}</option>`
  const groups = eventTypeGroups.map(
    ({ group, label, types }) =>
      `<optgroup label="${e(label)}">${option(group, `Any ${label.toLowerCase()} event`)}${types
        .map((type) => option(type, eventTitle(type)))
        .join('')}</optgroup>`
  )
  return `${option('', 'Any event')}${groups.join('')}`
}

const field = (
  name: keyof ActivityValues,
  label: string,
  hint: string,
  value: string,
  extra = ''
) =>
  `<label for="${name}">${e(label)}<span class="hint">${e(hint)}</span>
<input id="${name}" name="${name}" type="text" spellcheck="false" autocapitalize="none"${extra} value="${e(value)}"></label>`

function filterForm(view: ActivityView): string {
  const { values, viewer } = view
  return `<form class="search" method="get" action="/activity" role="search">
<label class="status-filter" for="type">Event<select id="type" name="type">${typeOptions(values.type)}</select></label>
${field('grant', 'Grant ID', "One grant's events", values.grant, ' placeholder="0190c6a2-…"')}
${field('wallet', 'Wallet address', "The app's, acting or asked for", values.wallet, ' inputmode="url" placeholder="https://wallet.example/app"')}
${field('since', 'Since', 'UTC: 2026-12-01T09:30, or an age: 7d', values.since)}
${field('until', 'Until', 'UTC, or an age: 1h', values.until)}
${viewer.isOperator ? field('tenant', 'Tenant ID', 'Empty: every tenant', values.tenant) : ''}
<button type="submit">Filter</button>
</form>`
}

function eventRow(event: AuditEvent, viewer: Viewer): string {
  const details = detailsInWords(event)
  const facts = [
    event.grantId
      ? `Grant <a href="/grants/${e(event.grantId)}"><code>${e(event.grantId)}</code></a>`
      : '',
    event.client ? `App <code>${e(event.client)}</code>` : '',
    viewer.isOperator && event.tenantId ? `Tenant <code>${e(event.tenantId)}</code>` : '',
    event.remoteAddress ? `From <code>${e(event.remoteAddress)}</code>` : '',
    event.requestId ? `Request <code>${e(event.requestId)}</code>` : ''
  ].filter(Boolean)
  return `<li>
<div class="row-head"><strong>${e(eventTitle(event.type))}</strong>${when(event.at)}</div>
<p class="detail">By ${e(actorInWords(event))}</p>
${details ? `<p class="detail">${e(details.charAt(0).toUpperCase() + details.slice(1))}</p>` : ''}
${facts.length ? `<p class="detail muted">${facts.join(' · ')}</p>` : ''}
</li>`
}

/**
 * The audit trail at the console: who changed what, when and from where, newest first, filtered
 * by event type, grant, wallet address, time and (the operator) tenant; a tenant sees its own.
 */
export function activityPage(view: ActivityView) {
  const { viewer, events } = view
  const whose = viewer.isOperator
    ? view.values.tenant
      ? `Tenant <span class="mono">${e(view.values.tenant)}</span>'s events.`
      : "Every tenant's events."
    : "Your tenant's events."
  // A refusal above the form, where it is read first; the form shows what was typed.
  const problem = view.problem ? `<p class="error" role="alert">${e(view.problem)}</p>` : ''
  const results = view.problem
    ? ''
    : !events?.length
      ? `<p role="status">No events${view.paged ? ' before these' : ''} match.</p>`
      : `<ol class="rows" aria-label="Events, newest first">${events.map((ev) => eventRow(ev, viewer)).join('')}</ol>`
  const pages = pager({
    ...(view.paged ? { newer: { href: activityUrl(view.values), text: 'Newest events' } } : {}),
    ...(view.older
      ? { older: { href: activityUrl(view.values, view.older), text: 'Older events' } }
      : {})
  })
  return consolePage(
    { title: 'Activity', viewer, section: 'activity' },
    `<h1>Activity</h1>
<p>${whose} Who changed what, when and from where; newest first, times in UTC.</p>
${problem}${filterForm(view)}
${results}
${pages}`
  )
}
