import type { Reply } from './http.js'

/** Every kind of request the load sends. */
export const opNames = [
  'grant',
  'chain-grant',
  'rotate',
  'interactive-grant',
  'interaction-start',
  'idp-accept',
  'interaction-finish',
  'continue'
] as const
export type OpName = (typeof opNames)[number]

/**
 * How a request ended, as the client saw it: `ok` (2xx, or the 302 the browser steps expect),
 * `error` (any other status), `ambiguous` (sent, no answer: may have committed) or `refused`
 * (never reached opas). See http.ts for the last two.
 */
export type Outcome = 'ok' | 'error' | 'ambiguous' | 'refused'

export interface IssuedToken {
  value: string
  manage: string
}

/** One grant request: a non-interactive grant, the root of a rotation chain, or an interactive one. */
export interface GrantRecord {
  op: 'grant' | 'chain-grant' | 'interactive-grant'
  /** The access identifier, unique per request: how SQL finds what the request stored. */
  identifier: string
  outcome: Outcome
  status?: number
  /** From the continue URI of a 200 answer; the grant's row is found by it. */
  continueId?: string
  continueToken?: string
  /** The access token of a non-interactive 200 answer. */
  token?: IssuedToken
}

/** A rotation chain: a grant's token rotated again and again, each time the newest one. */
export interface ChainRecord {
  root: GrantRecord
  /** Tokens acknowledged with 200, oldest first: tokens[0] came with the grant. */
  tokens: IssuedToken[]
  /** Outcomes of the rotations that presented the newest token and got no 200. */
  attemptsOnNewest: Outcome[]
  /** Rotations answered 200 after a lost attempt: proof that the lost one did not commit. */
  lostThenAnswered: number
}

/** An interactive grant driven through start, IdP accept, finish and continue. */
export interface FlowRecord {
  grant: GrantRecord
  /** Outcomes of the IdP's accept attempts (empty when the flow never got that far). */
  accepts: Outcome[]
  /** Outcomes of the continuation attempts with interact_ref. */
  continues: Outcome[]
  /** The token of the continuation answered 200. */
  token?: IssuedToken
}

/** Counts per operation, for the report. */
export interface OpTally {
  sent: number
  ok: number
  ambiguous: number
  refused: number
  /** `op status` or `op status after ambiguous` -> count; the latter are expected (see below). */
  errors: Map<string, number>
}

/** One sample body per error label, to see what went wrong without a debugger. */
export type ErrorSamples = Map<string, string>

/**
 * Everything the load sent and what became of it. Errors answered to a retry of an ambiguous
 * request are labelled `after ambiguous`: the lost attempt may have done the work (a rotation
 * that revoked the presented token, an accept already recorded), so an error is then the correct
 * answer.
 */
export class Ledger {
  readonly grants: GrantRecord[] = []
  readonly chains: ChainRecord[] = []
  readonly flows: FlowRecord[] = []
  /** Answers that were 2xx but not what the protocol promises (no token, no continue URI). */
  readonly malformed: string[] = []
  readonly tally = new Map<OpName, OpTally>(
    opNames.map((op) => [op, { sent: 0, ok: 0, ambiguous: 0, refused: 0, errors: new Map() }])
  )
  readonly samples: ErrorSamples = new Map()

  /** Records one attempt and returns its outcome; `ok` lists the statuses that count as success. */
  record(
    op: OpName,
    reply: Reply,
    afterAmbiguous: boolean,
    ok: (status: number) => boolean
  ): Outcome {
    const t = this.tally.get(op)!
    t.sent++
    if (reply.kind !== 'answered') {
      t[reply.kind]++
      return reply.kind
    }
    if (ok(reply.status)) {
      t.ok++
      return 'ok'
    }
    const label = `${op} ${reply.status}${afterAmbiguous ? ' after ambiguous' : ''}`
    t.errors.set(label, (t.errors.get(label) ?? 0) + 1)
    if (!this.samples.has(label)) this.samples.set(label, reply.body.slice(0, 300))
    return 'error'
  }
}
