import escapeHtml from 'escape-html'
import { formatDate } from '../../consent/describe-access.js'
import { consoleCss, consoleStyleSource } from './console-style.js'

/**
 * The console's page shell: server-rendered HTML, one style sheet allowed by its hash, no inline
 * script (the overview loads /console.js, allowed as 'self' on that page alone). Everything that
 * came from outside (client names, wallet addresses, URLs, ids) goes through `e`.
 */
export const e = (value: string | number): string => escapeHtml(String(value))

/**
 * Response headers of every console page: no framing, no caching, no referrer (ids in the URL),
 * forms posting only to the console itself. `script` allows /console.js (the overview only).
 */
function headersFor(script: boolean): Readonly<Record<string, string>> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `style-src ${consoleStyleSource}`,
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

export type Section = 'activity' | 'grants' | 'overview' | 'tenants' | 'webhooks'

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
${link('/activity', 'activity', 'Activity')}
${link('/webhooks', 'webhooks', 'Webhooks')}
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
<style>${consoleCss}</style>
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

/**
 * A list's page links: to the newer page (or an empty cell holding the older link's place on
 * the right) and to the older one; nothing when the list is one page.
 */
export function pager(links: {
  newer?: { href: string; text: string }
  older?: { href: string; text: string }
}): string {
  const { newer, older } = links
  if (!newer && !older) return ''
  const link = (l: { href: string; text: string }) => `<a href="${e(l.href)}">${e(l.text)}</a>`
  return `<nav class="pager" aria-label="Pages">${newer ? link(newer) : '<span></span>'}${
    older ? link(older) : ''
  }</nav>`
}
