import { createHash } from 'node:crypto'
import type { ReceivedWebhook } from '../../test/helpers/webhook-receiver.js'
import { checkAuditTrail } from './audit.js'
import { checkWebhooks, type WebhookTally } from './webhooks.js'
import type { Introspection } from './introspect.js'
import type { ChainRecord, FlowRecord, GrantRecord, IssuedToken, Ledger } from './ledger.js'
import type { GrantRow, Snapshot, TokenRow } from './snapshot.js'

/*
 * What the checks rely on.
 *
 * Every request ends in one of four ways (ledger.ts): `ok` (the expected 2xx, or 302 for the
 * browser steps), `error` (any other status), `refused` (the connection could not be opened:
 * opas was down, so the request never reached it and changed nothing) or `ambiguous`.
 *
 * THE AMBIGUOUS CASE: the request was written to a connection and no complete answer came back,
 * because opas was killed (connection reset or closed) or did not answer in 30 s. opas may have
 * committed the request's transaction before it died, or not; a PostgreSQL backend may even
 * commit it after opas died. The client cannot know which. The invariant for such a request is
 * atomicity and uniqueness: its effect is either wholly present or wholly absent, never partial,
 * never twice. Concretely:
 *   - a grant request: at most one grant carries its identifier, and if one does it is complete
 *     (a non-interactive grant FINALIZED/ISSUED with exactly one token; an interactive one
 *     PENDING with no token);
 *   - a rotation of token T: either nothing happened (T is still the chain's live token) or T was
 *     revoked and exactly one new token, unknown to the client, is live instead. Either way the
 *     chain has exactly one live token, and no token older than T is live;
 *   - a continuation: the grant holds at most one token, and holds one only if FINALIZED/ISSUED.
 * A retry that is answered settles an ambiguous request: a rotation or continuation answered 200
 * after a lost attempt proves the lost attempt did not commit (it would have revoked the token,
 * or finalised the grant, and the retry would have been refused), so the plain invariants apply.
 *
 * The invariants for answered requests:
 *   - 2xx is durable: every grant answered 200 is stored with its identifier; a token answered
 *     200 is active unless a later rotation of it was acknowledged, or was ambiguous (above);
 *     every token older than a chain's newest acknowledged one is inactive; an IdP accept
 *     answered 202 left the interaction APPROVED; a continuation answered 200 left its token
 *     active, the grant FINALIZED/ISSUED and no other token.
 *   - an error changed nothing: a grant request answered with an error stored no grant (so no
 *     token); a rotation answered with an error (not after an ambiguous attempt) left the
 *     presented token live and created none; an interactive grant whose continuation was never
 *     answered 200 nor lost holds no token.
 *   - refused requests changed nothing: no grant carries their identifier.
 * And, as a cross-check, introspection agrees with the database about every known token, and
 * the audit trail with the rows (audit.ts).
 */

/** How the ambiguous requests turned out: whether the kills hit both before and after commits. */
export interface Resolution {
  committed: number
  notCommitted: number
}

export interface Verdict {
  checks: number
  violations: string[]
  /** What the receiver got, against the events committed (webhooks.ts). */
  webhooks: WebhookTally
  /** Lost grant requests, rotations and continuations, by what the database shows they did. */
  ambiguous: { grants: Resolution; rotations: Resolution; continuations: Resolution }
}

const resolution = (): Resolution => ({ committed: 0, notCommitted: 0 })

/** The verdict of a run that never got to verification. */
export function emptyVerdict(): Verdict {
  return {
    checks: 0,
    violations: [],
    webhooks: { events: 0, received: 0, refused: 0, repeated: 0 },
    ambiguous: { grants: resolution(), rotations: resolution(), continuations: resolution() }
  }
}

const hashOf = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex')
/** Short names for messages: the identifier's last segment, a token's first characters. */
const shortId = (identifier: string) => identifier.slice(identifier.lastIndexOf('/') + 1)
const shortToken = (t: IssuedToken) => `${t.value.slice(0, 8)}…`

class Checker {
  checks = 0
  readonly violations: string[] = []
  readonly ambiguous = {
    grants: resolution(),
    rotations: resolution(),
    continuations: resolution()
  }

  constructor(
    readonly db: Snapshot,
    private readonly introspections: Map<string, Introspection>
  ) {}

  expect(ok: boolean, message: () => string): boolean {
    this.checks++
    if (!ok) this.violations.push(message())
    return ok
  }

  /** True/false from the introspection listener; a failed introspection is itself a violation. */
  active(token: IssuedToken): boolean | undefined {
    const result = this.introspections.get(token.value)
    const failed = result === undefined ? 'not introspected' : 'failed' in result && result.failed
    this.expect(!failed, () => `introspection of ${shortToken(token)} failed: ${failed}`)
    return result !== undefined && 'active' in result ? result.active : undefined
  }

  introspectedGrant(token: IssuedToken): string | undefined {
    const result = this.introspections.get(token.value)
    return result !== undefined && 'grant' in result ? result.grant : undefined
  }

  tokens(grant: GrantRow): TokenRow[] {
    return this.db.tokensByGrant.get(grant.id) ?? []
  }

  live(grant: GrantRow): TokenRow[] {
    return this.tokens(grant).filter((t) => t.unrevoked && t.unexpired)
  }
}

const issued = (g: GrantRow) => g.state === 'FINALIZED' && g.reason === 'ISSUED'

/** A grant request answered 200: stored, under its identifier. */
function checkStored(c: Checker, record: GrantRecord): GrantRow | undefined {
  const name = `${record.op} ${shortId(record.identifier)}`
  if (record.continueId === undefined) return undefined // malformed answer, reported as such
  const row = c.db.grantByContinueId.get(record.continueId)
  if (!c.expect(row !== undefined, () => `${name} answered 200 but its grant is missing`)) return
  c.expect(row!.identifiers.includes(record.identifier), () => `${name}: stored access differs`)
  return row
}

/** A non-interactive grant answered 200 and never rotated: its one token is live and active. */
function checkIssuedGrant(c: Checker, record: GrantRecord, row: GrantRow): void {
  const name = `grant ${shortId(record.identifier)}`
  const token = record.token!
  c.expect(issued(row), () => `${name}: grant is ${row.state}/${row.reason}, not FINALIZED/ISSUED`)
  const rows = c.tokens(row)
  c.expect(
    rows.length === 1 && rows[0]!.hash === hashOf(token.value) && rows[0]!.unrevoked,
    () => `${name}: expected its one token live in the database, found ${describe(rows)}`
  )
  c.expect(c.active(token) === true, () => `${name}: token answered 200 is not active`)
  c.expect(c.introspectedGrant(token) === row.id, () => `${name}: token introspects another grant`)
}

/** A grant request that was lost: stored at most once, and then complete. */
function checkAmbiguousGrant(c: Checker, record: GrantRecord, rows: GrantRow[]): void {
  const name = `${record.op} ${shortId(record.identifier)} (no answer)`
  c.ambiguous.grants[rows.length > 0 ? 'committed' : 'notCommitted']++
  c.expect(rows.length <= 1, () => `${name}: stored ${rows.length} times`)
  for (const row of rows) {
    const tokens = c.tokens(row)
    if (record.op === 'interactive-grant') {
      c.expect(
        row.state === 'PENDING' && tokens.length === 0,
        () =>
          `${name}: stored as ${row.state} with ${tokens.length} token(s), expected PENDING, none`
      )
    } else {
      c.expect(
        issued(row) && tokens.length === 1 && tokens[0]!.unrevoked,
        () => `${name}: stored partially: ${row.state}/${row.reason}, tokens ${describe(tokens)}`
      )
    }
  }
}

function describe(rows: TokenRow[]): string {
  if (rows.length === 0) return 'no token'
  return rows.map((t) => `${t.hash.slice(0, 8)}(${t.unrevoked ? 'live' : 'revoked'})`).join(', ')
}

/** Every grant request, by how it ended. Returns the stored row of one answered 200. */
function checkGrantRequest(c: Checker, record: GrantRecord): GrantRow | undefined {
  const stored = c.db.grantsByIdentifier.get(record.identifier) ?? []
  const name = `${record.op} ${shortId(record.identifier)}`
  switch (record.outcome) {
    case 'ok': {
      const row = checkStored(c, record)
      if (row && record.op === 'grant' && record.token) checkIssuedGrant(c, record, row)
      if (row && record.op === 'chain-grant') {
        c.expect(issued(row), () => `${name}: grant is ${row.state}, not FINALIZED/ISSUED`)
      }
      return row
    }
    case 'error':
      c.expect(stored.length === 0, () => `${name} answered ${record.status} but was stored`)
      return undefined
    case 'refused':
      c.expect(stored.length === 0, () => `${name} never reached opas but was stored`)
      return undefined
    case 'ambiguous':
      checkAmbiguousGrant(c, record, stored)
      return undefined
  }
}

/** Older acknowledged tokens of a chain: rotated away, so inactive (and revoked in the database). */
function checkRotatedAway(c: Checker, chain: ChainRecord, name: string): void {
  for (const token of chain.tokens.slice(0, -1)) {
    c.expect(c.active(token) === false, () => `${name}: rotated token ${shortToken(token)} active`)
    const row = c.db.tokenByHash.get(hashOf(token.value))
    c.expect(row !== undefined, () => `${name}: acknowledged token ${shortToken(token)} missing`)
    c.expect(row?.unrevoked !== true, () => `${name}: rotated token ${shortToken(token)} unrevoked`)
  }
}

/** A rotation chain: exactly one live token, the newest acknowledged one or its lost successor. */
function checkChain(c: Checker, chain: ChainRecord, row: GrantRow): void {
  const name = `chain ${shortId(chain.root.identifier)} (${chain.tokens.length} tokens)`
  checkRotatedAway(c, chain, name)
  const newest = chain.tokens.at(-1)!
  const lostRotation = chain.attemptsOnNewest.includes('ambiguous')
  const known = new Set(chain.tokens.map((t) => hashOf(t.value)))
  const unknown = c.tokens(row).filter((t) => !known.has(t.hash))
  const live = c.live(row)
  const newestActive = c.active(newest)
  c.ambiguous.rotations.notCommitted += chain.lostThenAnswered
  c.expect(live.length === 1, () => `${name}: ${live.length} live tokens: ${describe(live)}`)
  c.expect(
    unknown.length <= (lostRotation ? 1 : 0),
    () => `${name}: ${unknown.length} tokens the client never saw (lost rotation: ${lostRotation})`
  )
  if (!lostRotation) {
    c.expect(newestActive === true, () => `${name}: newest token ${shortToken(newest)} inactive`)
    c.expect(
      live[0]?.hash === hashOf(newest.value),
      () => `${name}: the live token is not the newest acknowledged one`
    )
    return
  }
  // Lost rotation of the newest token: it is live, or its unseen successor is, not both.
  const liveIsUnknown = live.length === 1 && !known.has(live[0]!.hash)
  c.ambiguous.rotations[unknown.length > 0 ? 'committed' : 'notCommitted']++
  c.expect(
    newestActive !== liveIsUnknown,
    () =>
      `${name}: after a lost rotation, newest token active=${newestActive} ` +
      `and an unseen token live=${liveIsUnknown}: expected exactly one of them`
  )
}

/** An interactive grant: the accept is durable, and only a continuation can have issued a token. */
function checkFlow(c: Checker, flow: FlowRecord, row: GrantRow): void {
  const name = `interactive ${shortId(flow.grant.identifier)}`
  const tokens = c.tokens(row)
  if (flow.accepts.at(-1) === 'ok') {
    const states = c.db.interactionStatesByGrant.get(row.id) ?? []
    c.expect(
      states.includes('APPROVED') && (row.state === 'APPROVED' || issued(row)),
      () => `${name}: accept answered 202 but interaction ${states}, grant ${row.state}`
    )
  }
  const lost = flow.continues.includes('ambiguous')
  // A 200 after a lost attempt proves the lost one did nothing (the grant was still APPROVED).
  if (lost)
    c.ambiguous.continuations[tokens.length > 0 && !flow.token ? 'committed' : 'notCommitted']++
  if (flow.token) {
    const token = flow.token
    c.expect(issued(row), () => `${name}: continued with 200 but grant is ${row.state}`)
    c.expect(
      tokens.length === 1 && tokens[0]!.hash === hashOf(token.value) && tokens[0]!.unrevoked,
      () => `${name}: expected only the continued token, found ${describe(tokens)}`
    )
    c.expect(c.active(token) === true, () => `${name}: token of the 200 continuation inactive`)
    c.expect(c.introspectedGrant(token) === row.id, () => `${name}: token introspects elsewhere`)
  } else if (lost) {
    c.expect(
      tokens.length === 0 || (tokens.length === 1 && issued(row) && tokens[0]!.unrevoked),
      () => `${name}: after a lost continuation: grant ${row.state}, tokens ${describe(tokens)}`
    )
  } else {
    c.expect(
      tokens.length === 0 && !issued(row),
      () => `${name}: never continued with 200, yet ${row.state} with ${describe(tokens)}`
    )
  }
}

/** Introspection and the database agree on every token the ledger knows. */
function checkAgreement(c: Checker, introspections: Map<string, Introspection>): void {
  for (const [value, result] of introspections) {
    if (!('active' in result)) continue
    const row = c.db.tokenByHash.get(hashOf(value))
    const grant = row && c.db.grantById.get(row.grantId)
    const live = !!row && row.unrevoked && row.unexpired && grant?.reason !== 'REVOKED'
    c.expect(
      live === result.active,
      () => `token ${value.slice(0, 8)}…: introspection active=${result.active}, database ${live}`
    )
  }
}

/** Nothing stored that no request of the ledger asked for. */
function checkNoStrangers(c: Checker, ledger: Ledger): void {
  const asked = new Set([
    ...ledger.grants.map((g) => g.identifier),
    ...ledger.flows.map((f) => f.grant.identifier)
  ])
  for (const g of c.db.grants) {
    c.expect(
      g.identifiers.some((id) => asked.has(id)),
      () => `grant ${g.id} (${g.identifiers.join(' ')}) was stored but never requested`
    )
  }
}

export function verify(
  ledger: Ledger,
  introspections: Map<string, Introspection>,
  snapshot: Snapshot,
  webhooks: readonly ReceivedWebhook[]
): Verdict {
  const c = new Checker(snapshot, introspections)
  for (const m of ledger.malformed) c.expect(false, () => `malformed answer: ${m}`)
  const rows = new Map<GrantRecord, GrantRow | undefined>()
  for (const g of ledger.grants) rows.set(g, checkGrantRequest(c, g))
  for (const chain of ledger.chains) {
    const row = rows.get(chain.root)
    if (row) checkChain(c, chain, row)
  }
  for (const flow of ledger.flows) {
    const row = checkGrantRequest(c, flow.grant)
    if (row) checkFlow(c, flow, row)
  }
  checkAgreement(c, introspections)
  checkNoStrangers(c, ledger)
  checkAuditTrail(snapshot, (ok, message) => c.expect(ok, message))
  const webhookTally = checkWebhooks(snapshot, webhooks, (ok, message) => c.expect(ok, message))
  return {
    checks: c.checks,
    violations: c.violations,
    ambiguous: c.ambiguous,
    webhooks: webhookTally
  }
}
