import { opNames, type Ledger, type OpTally } from './ledger.js'
import { unmetMinimums } from './minimums.js'
import type { PhaseResult } from './phase.js'

const MAX_LISTED = 40

function pad(values: (string | number)[], widths: number[]): string {
  return values
    .map((v, i) => (i === 0 ? String(v).padEnd(widths[0]!) : String(v).padStart(widths[i]!)))
    .join('  ')
}

const errorCount = (t: OpTally) => [...t.errors.values()].reduce((a, b) => a + b, 0)

function requestTable(ledger: Ledger): string[] {
  const widths = [20, 8, 8, 7, 10, 8]
  const lines = [pad(['request', 'sent', '2xx', 'errors', 'ambiguous', 'refused'], widths)]
  const total: OpTally = { sent: 0, ok: 0, ambiguous: 0, refused: 0, errors: new Map() }
  let totalErrors = 0
  for (const op of opNames) {
    const t = ledger.tally.get(op)!
    const errors = errorCount(t)
    lines.push(pad([op, t.sent, t.ok, errors, t.ambiguous, t.refused], widths))
    total.sent += t.sent
    total.ok += t.ok
    total.ambiguous += t.ambiguous
    total.refused += t.refused
    totalErrors += errors
  }
  lines.push(
    pad(['total', total.sent, total.ok, totalErrors, total.ambiguous, total.refused], widths)
  )
  return lines.map((l) => `  ${l}`)
}

function errorLines(ledger: Ledger): string[] {
  const rows = [...ledger.tally.values()].flatMap((t) => [...t.errors.entries()])
  if (rows.length === 0) return ['  errors by status: none']
  return [
    '  errors by status:',
    ...rows.map(
      ([label, n]) => `    ${label}: ${n}   e.g. ${ledger.samples.get(label)?.replace(/\s+/g, ' ')}`
    )
  ]
}

function restartLine(result: PhaseResult): string {
  const times = result.kills.flatMap((k) => (k.restartMs === undefined ? [] : [k.restartMs]))
  if (times.length === 0) return '  restart time: no restart'
  const avg = times.reduce((a, b) => a + b, 0) / times.length
  return (
    `  restart time (SIGKILL to every listener answering /healthz): ` +
    `${times.map((t) => t.toFixed(0)).join(', ')} ms (avg ${avg.toFixed(0)}, max ${Math.max(...times).toFixed(0)})`
  )
}

/** What the ledger ended up holding: the size of what was verified. */
function ledgerLine(ledger: Ledger): string {
  const grants = ledger.grants.filter((g) => g.op === 'grant' && g.outcome === 'ok').length
  const rotations = ledger.chains.reduce((n, c) => n + c.tokens.length - 1, 0)
  const lostEnds = ledger.chains.filter((c) => c.attemptsOnNewest.includes('ambiguous')).length
  const continued = ledger.flows.filter((f) => f.token !== undefined).length
  return (
    `  verified: ${grants} grants issued, ${ledger.chains.length} rotation chains ` +
    `(${rotations} rotations acknowledged, ${lostEnds} ending in a lost rotation), ` +
    `${continued} of ${ledger.flows.length} interactive grants continued with a token`
  )
}

/** Whether kills landed both before and after commits: the ambiguous case in both its forms. */
function ambiguityLine(result: PhaseResult): string {
  const { grants, rotations, continuations } = result.verdict.ambiguous
  const pair = (r: { committed: number; notCommitted: number }) =>
    `${r.committed} committed / ${r.notCommitted} not`
  return (
    `  lost requests, as the database resolved them: grant requests ${pair(grants)}; ` +
    `rotations ${pair(rotations)}; continuations ${pair(continuations)}`
  )
}

/** What the webhook receiver got, against the events committed (webhooks.ts). */
function webhookLine(result: PhaseResult): string {
  const { events, received, refused, repeated } = result.verdict.webhooks
  return (
    `  webhooks: ${events} events committed; ${received} attempts received, ${refused} refused ` +
    `by the receiver (retried); ${repeated} events delivered twice (a kill after the 200)`
  )
}

function listed(title: string, items: string[]): string[] {
  const shown = items.slice(0, MAX_LISTED).map((v) => `    - ${v}`)
  const more = items.length > MAX_LISTED ? [`    … and ${items.length - MAX_LISTED} more`] : []
  return [`  ${title}: ${items.length}`, ...shown, ...more]
}

/** Why the run fails besides violations: unmet minimums (minimums.ts), then the run's own. */
const runFailures = (result: PhaseResult) => [...unmetMinimums(result), ...result.failures]

export function formatPhase(result: PhaseResult): string {
  const { ledger, verdict } = result
  const failures = runFailures(result)
  return [
    '',
    `== ${result.description}`,
    `  load ${(result.loadMs / 1000).toFixed(1)} s at concurrency ${result.concurrency}; ` +
      `kills ${result.kills.length}, restarts ${result.restarts}`,
    restartLine(result),
    ...requestTable(ledger),
    '  (2xx: the expected answer, 302 for interaction start and finish; unanswered requests are',
    '   ambiguous (sent, connection lost before the answer: may have committed) or refused',
    '   (connection refused while opas was down: never received))',
    ...errorLines(ledger),
    ledgerLine(ledger),
    ambiguityLine(result),
    webhookLine(result),
    `  opas error-level log lines: ${result.serverErrors.count}` +
      (result.serverErrors.last ? `, last: ${result.serverErrors.last}` : ''),
    `  checks made: ${verdict.checks}`,
    ...listed('violations', verdict.violations),
    ...(failures.length > 0 ? listed('failures (unmet minimums, the run itself)', failures) : [])
  ].join('\n')
}

export function failed(result: PhaseResult): boolean {
  return result.verdict.violations.length > 0 || runFailures(result).length > 0
}

export function formatSummary(results: PhaseResult[]): string {
  const lines = results.map((r) => {
    const failures = runFailures(r).length
    return (
      `  ${r.kind.padEnd(9)} ${String(r.verdict.checks).padStart(7)} checks, ` +
      `${r.verdict.violations.length} violations${failures ? `, ${failures} failures` : ''}`
    )
  })
  const verdict = results.some(failed) ? 'FAILED' : 'OK: no violation, every minimum met'
  return ['', `crash test ${verdict}`, ...lines].join('\n')
}
