/**
 * /console.js, the console's only script (CSP `script-src 'self'`, the overview page alone): it
 * fetches the charts again every 15 seconds and swaps them in, keeping open figure tables open.
 * A button pauses it (WCAG 2.2.2: moving content can be paused). Without it the page still
 * shows the charts as of its loading.
 */
export const consoleScript = `'use strict'
;(() => {
  const charts = document.getElementById('charts')
  const toggle = document.getElementById('live')
  const status = document.getElementById('live-status')
  if (!charts || !toggle || !status) return
  let paused = false
  toggle.hidden = false
  status.textContent = 'Updating every 15 seconds.'
  toggle.addEventListener('click', () => {
    paused = !paused
    toggle.setAttribute('aria-pressed', String(paused))
    toggle.textContent = paused ? 'Resume live updates' : 'Pause live updates'
    status.textContent = paused ? 'Live updates paused.' : 'Updating every 15 seconds.'
  })
  async function refresh() {
    if (paused || document.hidden) return
    try {
      const res = await fetch('/overview/charts', { credentials: 'same-origin', cache: 'no-store' })
      if (!res.ok || !(res.headers.get('content-type') || '').startsWith('text/html')) {
        paused = true
        toggle.hidden = true
        status.textContent = 'Live updates stopped: reload the page (your session may have ended).'
        return
      }
      const open = [...charts.querySelectorAll('details')].map((d) => d.open)
      charts.innerHTML = await res.text()
      charts.querySelectorAll('details').forEach((d, i) => { d.open = open[i] === true })
    } catch {
      status.textContent = 'The server did not answer; trying again in 15 seconds.'
    }
  }
  setInterval(refresh, 15000)
})()
`
