import type { GrantRow, Snapshot } from './snapshot.js'

/*
 * The audit trail after the kills (issue 27): every event is written in the transaction, or
 * by the statement, of the change it records, so what the database holds and what the trail
 * says agree exactly, however the kills fell. A committed change lacking its event, an event
 * of a change that was rolled back (a grant never stored, a token never rotated) or one
 * written twice is a violation. The counts are taken from the rows, not the ledger: a lost
 * request (no answer) may or may not have committed, and either way its rows and its events
 * went together.
 */

const count = (types: string[], type: string) => types.filter((t) => t === type).length

/** What a grant's rows say its trail must hold, per event type. */
function expectedEvents(db: Snapshot, grant: GrantRow): Record<string, number> {
  const tokens = db.tokensByGrant.get(grant.id) ?? []
  const interactions = db.interactionStatesByGrant.get(grant.id) ?? []
  const issued = grant.state === 'FINALIZED' && grant.reason === 'ISSUED'
  const interactive = interactions.length > 0
  return {
    // A grant issued at once has one event, `grant.issued`; any other was requested first.
    'grant.requested': interactive ? 1 : 0,
    // Issued at once (whatever became of it since), or by the one continuation that issued it
    // (RFC 9635 §5.1).
    'grant.issued': !interactive || issued ? 1 : 0,
    'grant.continued': issued && interactive ? 1 : 0,
    // The IdP's accept moves the interaction to APPROVED with its event.
    'grant.approved': interactions.filter((s) => s === 'APPROVED').length,
    'grant.rejected': interactions.filter((s) => s === 'DENIED').length,
    'grant.finished': db.finishedInteractionsByGrant.get(grant.id) ?? 0,
    'token.rotated': tokens.filter((t) => t.rotated).length
  }
}

export function checkAuditTrail(
  db: Snapshot,
  expect: (ok: boolean, message: () => string) => boolean
): void {
  for (const grant of db.grants) {
    const types = db.eventsByGrant.get(grant.id) ?? []
    const expected = expectedEvents(db, grant)
    for (const [type, n] of Object.entries(expected)) {
      const found = count(types, type)
      expect(
        found === n,
        () => `grant ${grant.id}: ${found} ${type} event(s), its rows say ${n} (trail: ${types})`
      )
    }
    // Requested first when it was requested at all; else issued at once, by its request.
    const first = expected['grant.requested'] ? 'grant.requested' : 'grant.issued'
    expect(
      types[0] === first,
      () => `grant ${grant.id}: trail starts with ${types[0]}, not ${first}`
    )
  }
  // No event of a grant that was never committed (the crash test runs no retention).
  for (const [grantId, types] of db.eventsByGrant) {
    expect(
      db.grantById.has(grantId),
      () => `events ${types} name grant ${grantId}, which was never stored`
    )
  }
}
