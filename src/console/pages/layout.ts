import { createHash } from 'node:crypto'
import escapeHtml from 'escape-html'
import { formatDate } from '../../consent/describe-access.js'
import { chartCss } from '../../metrics/overview-charts.js'

/**
 * The console's page shell: server-rendered HTML, one style sheet allowed by its hash, no inline
 * script (the overview loads /console.js, allowed as 'self' on that page alone). Everything that
 * came from outside (client names, wallet addresses, URLs, ids) goes through `e`.
 */
export const e = (value: string | number): string => escapeHtml(String(value))

const CSS = `
:root { color-scheme: light dark; --accent: #1f5fbf; --line: #8885; --bad: #b3261e; --good: #1e7b34; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { border-bottom: 1px solid var(--line); }
.bar { max-width: 64rem; margin: 0 auto; padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
.brand { font-weight: 700; margin-right: auto; }
nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
nav a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; }
.who { font-size: .875rem; opacity: .8; overflow-wrap: anywhere; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0 0 .25rem; }
a { color: var(--accent); }
@media (prefers-color-scheme: dark) { :root { --accent: #8ab4f8; --bad: #f2b8b5; --good: #8fd19e; } }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; overflow-wrap: anywhere; }
form.fields { display: grid; gap: .75rem; max-width: 32rem; }
label { display: grid; gap: .25rem; font-weight: 600; }
label .hint { font-weight: 400; font-size: .875rem; opacity: .8; }
input, select { font: inherit; padding: .5rem .625rem; min-height: 2.75rem; border: 1px solid var(--line); border-radius: .375rem; width: 100%; background: Canvas; color: CanvasText; }
fieldset { border: 1px solid var(--line); border-radius: .5rem; display: grid; gap: .5rem; }
fieldset label { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
fieldset input[type=radio] { width: auto; min-height: 0; }
button, .button { display: inline-flex; align-items: center; justify-content: center; min-height: 2.75rem; padding: .5rem 1rem; font: inherit; font-weight: 600; border-radius: .375rem; cursor: pointer; border: 2px solid var(--accent); background: var(--accent); color: #fff; text-decoration: none; }
@media (prefers-color-scheme: dark) { button, .button { color: #0b1b33; } }
button.quiet, .button.quiet { background: transparent; color: inherit; }
button.danger { border-color: var(--bad); background: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0; }
.actions form { margin: 0; }
form.search { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin: 0 0 1rem; }
form.search label { flex: 1 1 16rem; }
form.search label.status-filter { flex: 0 1 16rem; }
ol.rows, ul.rows { list-style: none; margin: 0; padding: 0; }
ol.rows > li, ul.rows > li { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; margin: 0 0 .75rem; }
.row-head { display: flex; flex-wrap: wrap; gap: .25rem 1rem; justify-content: space-between; align-items: baseline; }
.row-head a { font-weight: 600; overflow-wrap: anywhere; }
.detail { margin: .25rem 0 0; overflow-wrap: anywhere; }
.muted { opacity: .8; font-size: .9rem; }
.state { display: inline-block; font-size: .8rem; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; padding: .1rem .5rem; border: 1px solid currentColor; border-radius: 1rem; white-space: nowrap; }
.state.revoked, .state.rejected { color: var(--bad); }
.state.issued { color: var(--good); }
.flash { border-left: 4px solid var(--good); padding: .5rem 1rem; margin: 0 0 1rem; }
.error { border-left: 4px solid var(--bad); padding: .5rem 1rem; margin: 0 0 1rem; }
dl.facts { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 30rem) { dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .5rem; } }
ol.timeline { margin: 0; padding-left: 1.25rem; }
ol.timeline li { margin: 0 0 .25rem; }
.pager { display: flex; flex-wrap: wrap; gap: .75rem; justify-content: space-between; margin: 1rem 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`

/** The console's style sheet: its own rules and the overview charts'. */
const PAGE_CSS = CSS + chartCss
const STYLE_HASH = `'sha256-${createHash('sha256').update(PAGE_CSS).digest('base64')}'`

/**
 * Response headers of every console page: no framing, no caching, no referrer (ids in the URL),
 * forms posting only to the console itself. `script` allows /console.js (the overview only).
 */
function headersFor(script: boolean): Readonly<Record<string, string>> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `style-src ${STYLE_HASH}`,
      ...(script ? ["script-src 'self'", "connect-src 'self'"] : []),
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'"
    ].join('; '),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store'
  }
}
const HEADERS = headersFor(false)
const SCRIPTED_HEADERS = headersFor(true)

/** Who is signed in, as the header shows it. */
export interface Viewer {
  tenantId: string
  isOperator: boolean
  formToken: string
}

export type Section = 'grants' | 'overview' | 'tenants'

export interface Frame {
  title: string
  viewer?: Viewer
  section?: Section
  /** A one-line confirmation shown above the page ("Grant revoked."). */
  flash?: string
  /** The page loads /console.js (the overview's live charts). */
  script?: boolean
}

/** A hidden field carrying the session's form token: every form of a signed-in page has one. */
export const formTokenField = (viewer: Viewer) =>
  `<input type="hidden" name="csrf" value="${e(viewer.formToken)}">`

function navigation(viewer: Viewer, section: Section | undefined): string {
  const link = (href: string, name: Section, text: string) =>
    `<li><a href="${href}"${section === name ? ' aria-current="page"' : ''}>${text}</a></li>`
  const who = viewer.isOperator ? 'operator' : `tenant ${viewer.tenantId}`
  return `<nav aria-label="Console"><ul>
${link('/grants', 'grants', 'Grants')}
${link('/overview', 'overview', 'Overview')}
${viewer.isOperator ? link('/tenants', 'tenants', 'Tenants') : ''}
</ul></nav>
<span class="who">Signed in as ${e(who)}</span>
<form method="post" action="/sign-out">${formTokenField(viewer)}<button type="submit" class="quiet">Sign out</button></form>`
}

/** A whole console page and its headers. */
export function consolePage(
  frame: Frame,
  body: string
): { html: string; headers: Readonly<Record<string, string>> } {
  const header = `<header><div class="bar"><span class="brand">opas console</span>${
    frame.viewer ? navigation(frame.viewer, frame.section) : ''
  }</div></header>`
  const flash = frame.flash ? `<p class="flash" role="status">${e(frame.flash)}</p>` : ''
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(frame.title)} · opas console</title>
<style>${PAGE_CSS}</style>
${frame.script ? '<script src="/console.js" defer></script>' : ''}
</head>
<body>
${header}
<main>
${flash}${body}
</main>
</body>
</html>
`
  return { html, headers: frame.script === true ? SCRIPTED_HEADERS : HEADERS }
}

/** A page that says what happened and where to go next; never a stack trace. */
export function noticePage(
  notice: { title: string; message: string; link?: { href: string; text: string } },
  viewer?: Viewer
) {
  const link = notice.link
    ? `<p><a href="${e(notice.link.href)}">${e(notice.link.text)}</a></p>`
    : ''
  return consolePage(
    { title: notice.title, ...(viewer ? { viewer } : {}) },
    `<h1>${e(notice.title)}</h1>\n<p>${e(notice.message)}</p>\n${link}`
  )
}

/** "3 Dec 2026, 14:15:07 UTC": always with the time, to the second (an event, not a day). */
export function moment(date: Date): string {
  const day = formatDate(
    new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()))
  )
  return `${day}, ${date.toISOString().slice(11, 19)} UTC`
}

/** A moment as people read it, machine-readable in `datetime`. */
export const when = (date: Date): string =>
  `<time datetime="${date.toISOString()}">${e(moment(date))}</time>`
