import { setTimeout as sleep } from 'node:timers/promises'
import type { TestClient } from '../../test/helpers/wallet-address-server.js'
import type { CrashHttp, CrashRequest, Reply } from './http.js'
import type { Ledger, OpName, Outcome } from './ledger.js'
import type { ServerUrls } from './server.js'

/**
 * When workers stop. `drain`: the load is over, so no worker starts a new operation, but one
 * that is retrying a lost request finishes it (the server is up by then), which leaves fewer
 * ambiguous ends to reason about. `halt`: stop now, even mid-retry (the drain took too long, or
 * the server could not be restarted).
 */
export class LoadControl {
  draining = false
  halted = false
  drain(): void {
    this.draining = true
  }
  halt(): void {
    this.draining = true
    this.halted = true
  }
}

export interface LoadContext {
  http: CrashHttp
  urls: ServerUrls
  idpSecret: string
  /** Origin of the local wallet-address server; identifiers are `${walletUrl}/account-…`. */
  walletUrl: string
  clients: TestClient[]
  ledger: Ledger
  control: LoadControl
}

export type Answer = Extract<Reply, { kind: 'answered' }>

/** What one operation (a request and its retries) came to. */
export interface Attempts {
  outcomes: Outcome[]
  /** The answer that ended it, or undefined when it was halted unanswered. */
  answer: Answer | undefined
  /** The outcome of that answer (`ok` or `error`). */
  final: Outcome
}

// A refused connection means opas is down (being restarted): poll for its return.
const REFUSED_PAUSE_MS = 50

/**
 * After an ambiguous attempt the retry waits for the next wall-clock second: signatures carry
 * `created` in seconds and Ed25519 is deterministic, so a retry signed in the same second would
 * be byte-identical to the lost request and could be refused as a replay if that request's
 * replay record committed (continuations record it in a transaction of its own). A real client
 * retrying after a reset would also be at least that late.
 */
function pauseAfter(outcome: Outcome): Promise<void> {
  const ms = outcome === 'ambiguous' ? 1005 - (Date.now() % 1000) : REFUSED_PAUSE_MS
  return sleep(ms).then(() => undefined)
}

/**
 * Sends `build()` until it is answered (each attempt rebuilt, so freshly signed), as a client
 * does whose request was lost with the connection. Every attempt goes to the ledger.
 */
export async function sendUntilAnswered(
  ctx: LoadContext,
  op: OpName,
  build: () => CrashRequest,
  isOk: (status: number) => boolean
): Promise<Attempts> {
  const outcomes: Outcome[] = []
  for (;;) {
    const reply = await ctx.http.send(build())
    const outcome = ctx.ledger.record(op, reply, outcomes.includes('ambiguous'), isOk)
    outcomes.push(outcome)
    if (reply.kind === 'answered') return { outcomes, answer: reply, final: outcome }
    if (ctx.control.halted) return { outcomes, answer: undefined, final: outcome }
    await pauseAfter(outcome)
  }
}

/** Sends once; an unanswered request is only paced, never repeated (grant requests). */
export async function sendOnce(
  ctx: LoadContext,
  op: OpName,
  req: CrashRequest,
  isOk: (status: number) => boolean
): Promise<{ outcome: Outcome; answer: Answer | undefined }> {
  const reply = await ctx.http.send(req)
  const outcome = ctx.ledger.record(op, reply, false, isOk)
  if (reply.kind !== 'answered') {
    await sleep(REFUSED_PAUSE_MS) // the next request is another one: only avoid spinning
    return { outcome, answer: undefined }
  }
  return { outcome, answer: reply }
}

/** The parsed body, or undefined when it is not JSON (a broken answer must not crash a worker). */
export function parseJson<T>(body: string): Partial<T> | undefined {
  try {
    return JSON.parse(body) as Partial<T>
  } catch {
    return undefined
  }
}
