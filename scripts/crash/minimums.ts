import type { Ledger } from './ledger.js'
import type { PhaseResult } from './phase.js'

/*
 * What a run must have shown, beyond finding no violation. Without these a broken run passes:
 * one where every request got a 500 stores nothing, so nothing can be found wrong, and one whose
 * kills all landed between requests never cut a request mid-way, the case the test exists for.
 * A 5xx or an error-level log line is a failure too: a kill cuts requests off without an answer,
 * and the restarted opas must serve as the first one did, so neither is an expected effect. The
 * one exception: while a killed embedded database restarts, opas answers 503 (unavailable, try
 * again), as it would during an external database's outage.
 */

/** State changes opas acknowledged with 2xx, each of which verify.ts checks in the database. */
export function acknowledgedChanges(ledger: Ledger): number {
  const issued = ledger.grants.filter((g) => g.outcome === 'ok' && g.token !== undefined).length
  const rotations = ledger.chains.reduce((n, c) => n + c.tokens.length - 1, 0)
  const continued = ledger.flows.filter((f) => f.token !== undefined).length
  return issued + rotations + continued
}

/** 5xx answers by label (`op status`, see Ledger.record), with a sample body each. */
function serverErrorAnswers(ledger: Ledger, databaseKilled: boolean): string[] {
  const found: string[] = []
  for (const [op, tally] of ledger.tally) {
    for (const [label, n] of tally.errors) {
      const status = Number.parseInt(label.slice(op.length + 1), 10)
      if (status < 500 || (status === 503 && databaseKilled)) continue
      const sample = (ledger.samples.get(label) ?? '').replace(/\s+/g, ' ').slice(0, 200)
      found.push(`opas answered ${label} ×${n}, e.g. ${sample}`)
    }
  }
  return found
}

/** One line per unmet minimum; empty when the run showed all it must. */
export function unmetMinimums(result: PhaseResult): string[] {
  const unmet: string[] = []
  if (acknowledgedChanges(result.ledger) === 0) {
    unmet.push('no acknowledged change: no grant issued, rotation or continuation answered 2xx')
  }
  if (result.verdict.checks === 0) unmet.push('verification made no check')
  if (!result.kills.some((k) => k.inFlight > 0)) {
    const inFlight = result.kills.map((k) => k.inFlight).join(', ') || 'no kill'
    unmet.push(`no kill landed with requests in flight (in flight at each kill: ${inFlight})`)
  }
  unmet.push(
    ...serverErrorAnswers(
      result.ledger,
      result.kills.some((k) => k.target === 'database')
    )
  )
  const { count, last } = result.serverErrors
  if (count > 0) unmet.push(`opas logged ${count} error-level lines, last: ${last}`)
  return unmet
}
