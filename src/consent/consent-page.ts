import { createHash } from 'node:crypto'
import escapeHtml from 'escape-html'
import type { AccessDescription } from './describe-access.js'

/**
 * The built-in consent screen's HTML: server-rendered, no script, one inline style sheet
 * allowed by its hash. Everything shown that came from outside (the client's name and wallet
 * address, access identifiers) is escaped.
 */

const CSS = `
:root { color-scheme: light dark; --accent: #1f5fbf; --line: #8884; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 36rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0 0 .25rem; }
.who { margin: 0; overflow-wrap: anywhere; }
ul.access { list-style: none; padding: 0; margin: 0; }
ul.access > li { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; margin: 0 0 .75rem; }
ul.access ul { margin: .25rem 0; padding-left: 1.25rem; }
.detail { margin: .25rem 0 0; overflow-wrap: anywhere; }
.limit { font-weight: 600; }
form { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1.5rem 0 1rem; }
button { flex: 1 1 10rem; min-height: 3rem; font: inherit; font-weight: 600; border-radius: .5rem; cursor: pointer;
  border: 2px solid var(--accent); }
button[value=accept] { background: var(--accent); color: #fff; }
button[value=decline] { background: transparent; color: inherit; }
button:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.note { font-size: .875rem; opacity: .8; }
`

/** Response headers of every page: no framing (clickjacking a consent), no caching, no leaks. */
export const pageHeaders: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${createHash('sha256')
    .update(CSS)
    .digest('base64')}'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store'
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

export interface ConsentView {
  /** The client's public name, from its verified wallet address document. */
  clientName: string
  /** The client's wallet address (the document's URL). */
  clientWalletAddress: string
  access: AccessDescription[]
  /** The form's anti-forgery token (see consent-routes). */
  csrfToken: string
}

function accessItem(item: AccessDescription): string {
  const actions = item.actions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')
  const wallet = item.walletAddress
    ? `<p class="detail">On wallet address <code>${escapeHtml(item.walletAddress)}</code></p>`
    : ''
  const limits = item.limits
    .map((l) => `<p class="detail limit">Limit: ${escapeHtml(l)}</p>`)
    .join('')
  return `<li><h3>${escapeHtml(item.title)}</h3><ul>${actions}</ul>${wallet}${limits}</li>`
}

/** The question: who asks, for what, and the two answers. The form posts to the page's URL. */
export function renderConsentPage(view: ConsentView): string {
  const name = escapeHtml(view.clientName)
  return page(
    `Allow ${view.clientName}?`,
    `<h1>${name} asks for access to your account</h1>
<p class="who">App's wallet address: <code>${escapeHtml(view.clientWalletAddress)}</code></p>
<h2>It will be able to</h2>
<ul class="access">${view.access.map(accessItem).join('')}</ul>
<form method="post">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrfToken)}">
<button type="submit" name="choice" value="accept">Accept</button>
<button type="submit" name="choice" value="decline">Decline</button>
</form>
<p class="note">Accept only if you know this app and expected this request.</p>`
  )
}

/** A page that ends the flow or explains why it cannot go on; never a stack trace. */
export function renderNoticePage(notice: { title: string; message: string }): string {
  return page(
    notice.title,
    `<h1>${escapeHtml(notice.title)}</h1>\n<p>${escapeHtml(notice.message)}</p>`
  )
}
