import { createHash } from 'node:crypto'
import { chartCss } from './overview-charts.js'

/**
 * The console's one style sheet, inline in every page and allowed by its hash (the CSP allows
 * no other style): the pages' own rules, then the overview charts' (`chartCss`).
 */
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
export const consoleCss = CSS + chartCss

/** The CSP `style-src` source that allows `consoleCss` alone. */
export const consoleStyleSource = `'sha256-${createHash('sha256').update(consoleCss).digest('base64')}'`
