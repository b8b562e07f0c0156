import type { AuditEvent } from '../../audit/events.js'
import { detailsInWords, eventSentence } from '../../consent/event-words.js'
import type { AdminGrant, GrantHistory } from '../../grant/grant-admin-store.js'
import {
  grantStatuses,
  rawStateOf,
  statusOf,
  statusWords,
  type GrantStatus
} from '../../grant/grant-status.js'
import {
  accessInWords,
  accessSummary,
  interactionSteps,
  tokensInWords,
  type HistoryStep
} from '../../consent/grant-words.js'
import { consolePage, e, formTokenField, pager, when, type Viewer } from './layout.js'

/** The app as support staff name it: its public name and its wallet address. */
function clientOf(grant: AdminGrant): { name: string; address: string | null } {
  const name = grant.clientName ?? grant.client ?? 'An app known only by its key'
  return { name, address: grant.client }
}

function statusBadge(status: GrantStatus): string {
  return `<span class="state ${status}">${e(statusWords[status].label)}</span>`
}

export interface GrantListView {
  viewer: Viewer
  /** The wallet address searched for, as typed. */
  wallet: string
  status: GrantStatus | undefined
  /** The one tenant the operator narrowed the list to (from the tenants page). */
  tenant?: string
  rows: AdminGrant[]
  /** Cursors of the pages before and after this one, when there are such pages. */
  before?: string
  after?: string
}

function listUrl(view: GrantListView, cursor: { before?: string; after?: string }): string {
  const query = new URLSearchParams()
  if (view.wallet) query.set('wallet', view.wallet)
  if (view.status) query.set('state', view.status)
  if (view.tenant) query.set('tenant', view.tenant)
  if (cursor.before) query.set('before', cursor.before)
  if (cursor.after) query.set('after', cursor.after)
  return `/grants?${query}`
}

function grantRow(grant: AdminGrant, viewer: Viewer): string {
  const status = statusOf(grant)
  const client = clientOf(grant)
  const allows = grant.access.map((item) => {
    const words = accessInWords(item)
    const on = words.walletAddress
      ? ` <span class="muted">on <code>${e(words.walletAddress)}</code></span>`
      : ''
    return `<li>${e(accessSummary(words))}${on}</li>`
  })
  const tenant = viewer.isOperator
    ? `<p class="detail muted">Tenant <code>${e(grant.tenantId)}</code></p>`
    : ''
  return `<li>
<div class="row-head"><a href="/grants/${e(grant.id)}">${e(client.name)}</a>${statusBadge(status)}</div>
${client.address ? `<p class="detail">App's wallet address: <code>${e(client.address)}</code></p>` : ''}
<ul class="detail">${allows.join('')}</ul>
<p class="detail muted">Requested ${when(grant.createdAt)}</p>${tenant}
</li>`
}

/** The grants list: search by wallet address, filter by status, newest first, paged. */
export function grantListPage(view: GrantListView) {
  const options = [
    `<option value="">Any status</option>`,
    ...grantStatuses.map(
      (s) =>
        `<option value="${s}"${view.status === s ? ' selected' : ''}>${e(statusWords[s].label)}: ${e(statusWords[s].meaning)}</option>`
    )
  ].join('')
  const searched = view.wallet ? ` for ${view.wallet}` : ''
  const results =
    view.rows.length === 0
      ? `<p role="status">No grants${e(searched)}${view.status ? ` with status ${e(statusWords[view.status].label)}` : ''}.</p>`
      : `<ol class="rows" aria-label="Grants, newest first">${view.rows.map((g) => grantRow(g, view.viewer)).join('')}</ol>`
  const pages = pager({
    ...(view.before
      ? { newer: { href: listUrl(view, { before: view.before }), text: 'Newer grants' } }
      : {}),
    ...(view.after
      ? { older: { href: listUrl(view, { after: view.after }), text: 'Older grants' } }
      : {})
  })
  return consolePage(
    { title: 'Grants', viewer: view.viewer, section: 'grants' },
    `<h1>Grants${view.tenant ? ` of tenant <span class="mono">${e(view.tenant)}</span>` : ''}</h1>
${view.tenant ? '<p><a href="/grants">All tenants</a></p>' : ''}
<form class="search" method="get" action="/grants" role="search">
${view.tenant ? `<input type="hidden" name="tenant" value="${e(view.tenant)}">` : ''}
<label for="wallet">Wallet address
<span class="hint">An account's address, or the app's own</span>
<input id="wallet" name="wallet" type="search" inputmode="url" spellcheck="false" autocapitalize="none" placeholder="https://wallet.example/alice" value="${e(view.wallet)}"></label>
<label class="status-filter" for="state">Status
<select id="state" name="state">${options}</select></label>
<button type="submit">Search</button>
</form>
${results}
${pages}`
  )
}

const stepHtml = (step: HistoryStep) =>
  `${e(step.words)} ${when(step.at)}${step.after ? e(step.after) : ''}`

function interactionStory(i: GrantHistory['interactions'][number]): string {
  const steps = interactionSteps(i).map((step) => `<li>${stepHtml(step)}</li>`)
  return `<li><ol class="timeline">${steps.join('')}</ol></li>`
}

export interface GrantView {
  viewer: Viewer
  grant: AdminGrant
  history: GrantHistory
  /** The grant's audit events, oldest first. */
  events: AuditEvent[]
  flash?: string
}

/** "14:15:07 UTC: Revoked by console user (tenant …) from 127.0.0.1", and what it changed. */
function eventStep(event: AuditEvent): string {
  const details = detailsInWords(event)
  return `<li>${when(event.at)}: ${e(eventSentence(event))}${details ? ` <span class="muted">(${e(details)})</span>` : ''}</li>`
}

/**
 * The grant's story from its audit events, who acted and from where; an interaction still
 * waiting for the account holder says until when. A grant older than the audit trail (or
 * imported from Rafiki) has no events: its story is then told from its interactions.
 */
function historySection(view: GrantView): string {
  const { events, history, grant } = view
  if (events.length === 0) {
    return `<h2>History</h2>
<p class="muted">No events were recorded for this grant (it predates the audit trail, or was imported); this is its interaction.</p>
${
  history.interactions.length
    ? `<ol class="rows">${history.interactions.map(interactionStory).join('')}</ol>`
    : '<p>None: this grant needed no consent.</p>'
}`
  }
  const waiting = history.interactions
    .filter((i) => i.state === 'PENDING' && !i.finishedAt && !i.expired)
    .map((i) => `<li>${e('Waiting for the account holder until')} ${when(i.expiresAt)}</li>`)
  return `<h2>History</h2>
<ol class="timeline" aria-label="Events, oldest first">${events.map(eventStep).join('')}${waiting.join('')}</ol>
<p><a href="/activity?grant=${e(grant.id)}">Each event in full</a> (request ids, newest first)</p>`
}

/**
 * One grant: what it allows in words, its history (who acted, when, from where), its tokens
 * now (live or how each ended; never a value), Revoke.
 */
export function grantPage(view: GrantView) {
  const { grant, history, viewer } = view
  const status = statusOf(grant)
  const client = clientOf(grant)
  const items = grant.access.map((item) => {
    const words = accessInWords(item)
    const actions = words.actions.map((a) => `<li>${e(a)}</li>`).join('')
    const wallet = words.walletAddress
      ? `<p class="detail">On wallet address <code>${e(words.walletAddress)}</code></p>`
      : ''
    const limits = words.limits
      .map((l) => `<p class="detail"><strong>Limit:</strong> ${e(l)}</p>`)
      .join('')
    return `<li><h3>${e(words.title)}</h3><ul>${actions}</ul>${wallet}${limits}</li>`
  })
  const subjects = grant.subIds.map(
    (s) => `<li><code>${e(s.subId)}</code> (${e(s.subIdFormat)})</li>`
  )
  const tokens = tokensInWords(history.tokens).map(
    (t) => `<li><strong>Token ${t.number}</strong>: ${stepHtml(t.issued)}; ${stepHtml(t.end)}</li>`
  )
  const revocable = status !== 'revoked' && status !== 'rejected'
  return consolePage(
    {
      title: `Grant to ${client.name}`,
      viewer,
      section: 'grants',
      ...(view.flash ? { flash: view.flash } : {})
    },
    `<h1>Grant to ${e(client.name)}</h1>
<dl class="facts">
<dt>Status</dt><dd>${statusBadge(status)} ${e(statusWords[status].meaning)}</dd>
<dt>GNAP state</dt><dd><code>${e(rawStateOf(grant))}</code></dd>
<dt>App</dt><dd>${e(client.name)}</dd>
${client.address ? `<dt>App's wallet address</dt><dd><code>${e(client.address)}</code></dd>` : ''}
<dt>Requested</dt><dd>${when(grant.createdAt)}</dd>
<dt>Grant ID</dt><dd><code>${e(grant.id)}</code></dd>
${viewer.isOperator ? `<dt>Tenant</dt><dd><code>${e(grant.tenantId)}</code></dd>` : ''}
</dl>
<h2>What it allows</h2>
${items.length ? `<ul class="rows">${items.join('')}</ul>` : '<p>No access rights.</p>'}
${subjects.length ? `<h2>Account holder identifiers it may read</h2><ul>${subjects.join('')}</ul>` : ''}
${historySection(view)}
<h2>Tokens</h2>
${tokens.length ? `<ol class="rows">${tokens.join('')}</ol>` : '<p>No token has been issued.</p>'}
${
  revocable
    ? `<h2>Revoke</h2>
<p>Revoking ends the grant: its tokens stop working at once and the app cannot continue it.</p>
<form method="get" action="/grants/${e(grant.id)}/revoke"><button type="submit" class="danger">Revoke</button></form>`
    : ''
}`
  )
}

/** The confirmation step of a revocation: nothing is changed until "Confirm revoke". */
export function confirmRevokePage(view: { viewer: Viewer; grant: AdminGrant }) {
  const { grant, viewer } = view
  const client = clientOf(grant)
  const allows = grant.access.map((item) => `<li>${e(accessSummary(accessInWords(item)))}</li>`)
  return consolePage(
    { title: 'Revoke this grant?', viewer, section: 'grants' },
    `<h1>Revoke the grant to ${e(client.name)}?</h1>
<p>${e(client.name)} will no longer be able to:</p>
<ul>${allows.join('')}</ul>
<p>Its tokens stop working at once (introspection answers inactive), and it cannot be undone: the app must ask the account holder again.</p>
<div class="actions">
<form method="post" action="/grants/${e(grant.id)}/revoke">${formTokenField(viewer)}<button type="submit" class="danger">Confirm revoke</button></form>
<a class="button quiet" href="/grants/${e(grant.id)}">Cancel</a>
</div>`
  )
}
