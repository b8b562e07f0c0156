import { randomBytes } from 'node:crypto'
import { signedPost } from '../../bench/signer.js'
import type { TestClient } from '../../test/helpers/wallet-address-server.js'
import type { CrashRequest } from './http.js'
import type { ChainRecord, FlowRecord, GrantRecord, IssuedToken, OpName } from './ledger.js'
import { parseJson, sendOnce, sendUntilAnswered, type Answer, type LoadContext } from './load.js'

const is200 = (s: number) => s === 200
const is202 = (s: number) => s === 202
const is302 = (s: number) => s === 302
const FINISH_URI = 'http://127.0.0.1:9/return'

/** A signed POST as the bench's signer builds it (exactly as the Open Payments SDK signs). */
function signed(client: TestClient, url: string, json?: string, gnap?: string): CrashRequest {
  const { headers, body } = signedPost(client, url, json, gnap)
  return { method: 'POST', url, headers, body }
}

type GrantAnswer = {
  access_token: Partial<IssuedToken>
  continue: { uri?: string; access_token?: { value?: string } }
  interact: { redirect?: string }
}

function tokenOf(body: string): IssuedToken | undefined {
  const token = parseJson<GrantAnswer>(body)?.access_token
  return typeof token?.value === 'string' && typeof token.manage === 'string'
    ? { value: token.value, manage: token.manage }
    : undefined
}

function continuationOf(body: string): { uri: string; token: string; id: string } | undefined {
  const c = parseJson<GrantAnswer>(body)?.continue
  if (typeof c?.uri !== 'string' || typeof c.access_token?.value !== 'string') return undefined
  return { uri: c.uri, token: c.access_token.value, id: c.uri.slice(c.uri.lastIndexOf('/') + 1) }
}

function malformed(ctx: LoadContext, op: OpName, what: string, answer: Answer): void {
  ctx.ledger.malformed.push(`${op} answered ${answer.status} ${what}: ${answer.body.slice(0, 200)}`)
}

/** Grant request bodies; every one carries an access identifier used nowhere else. */
class GrantRequests {
  private seq = 0
  constructor(private readonly ctx: LoadContext) {}

  private next(prefix: string): { client: TestClient; identifier: string } {
    const n = ++this.seq
    const clients = this.ctx.clients
    return {
      client: clients[n % clients.length]!,
      identifier: `${this.ctx.walletUrl}/${prefix}${n}`
    }
  }

  /** Non-interactive: incoming-payment access is issued at once. */
  direct(prefix: 'g' | 'c') {
    const { client, identifier } = this.next(`account-${prefix}`)
    const access = [{ type: 'incoming-payment', actions: ['create', 'read', 'list'], identifier }]
    const json = JSON.stringify({ client: client.walletAddress, access_token: { access } })
    return { client, identifier, req: signed(client, this.ctx.urls.grant, json) }
  }

  /** Interactive: outgoing-payment access always needs the account holder's consent. */
  interactive() {
    const { client, identifier } = this.next('account-i')
    const access = [{ type: 'outgoing-payment', actions: ['create', 'read'], identifier }]
    const nonce = randomBytes(8).toString('hex')
    const json = JSON.stringify({
      client: client.walletAddress,
      access_token: { access },
      interact: { start: ['redirect'], finish: { method: 'redirect', uri: FINISH_URI, nonce } }
    })
    return { client, identifier, req: signed(client, this.ctx.urls.grant, json) }
  }
}

/** One non-interactive grant request, sent once, recorded with what it returned. */
async function requestGrant(
  ctx: LoadContext,
  requests: GrantRequests,
  op: 'grant' | 'chain-grant'
): Promise<{ record: GrantRecord; client: TestClient }> {
  const { client, identifier, req } = requests.direct(op === 'grant' ? 'g' : 'c')
  const { outcome, answer } = await sendOnce(ctx, op, req, is200)
  const record: GrantRecord = { op, identifier, outcome, status: answer?.status }
  ctx.ledger.grants.push(record)
  if (outcome === 'ok' && answer) {
    const token = tokenOf(answer.body)
    const continuation = continuationOf(answer.body)
    if (!token || !continuation) malformed(ctx, op, 'without access_token or continue', answer)
    record.token = token
    record.continueId = continuation?.id
    record.continueToken = continuation?.token
  }
  return { record, client }
}

async function grantWorker(ctx: LoadContext, requests: GrantRequests): Promise<void> {
  while (!ctx.control.draining) await requestGrant(ctx, requests, 'grant')
}

/** Rotates the chain's newest token until answered; false when the chain cannot go on. */
async function rotateNewest(
  ctx: LoadContext,
  chain: ChainRecord,
  client: TestClient
): Promise<boolean> {
  const newest = chain.tokens.at(-1)!
  // The SDK rotates with no body, the token in Authorization, signed by the grant's client.
  const build = () => signed(client, newest.manage, undefined, newest.value)
  const sent = await sendUntilAnswered(ctx, 'rotate', build, is200)
  const next = sent.final === 'ok' && sent.answer ? tokenOf(sent.answer.body) : undefined
  if (next === undefined) {
    if (sent.final === 'ok') malformed(ctx, 'rotate', 'without access_token', sent.answer!)
    chain.attemptsOnNewest.push(...sent.outcomes)
    return false
  }
  // Lost attempts before a 200 did nothing: had one rotated, this one would have been refused.
  if (sent.outcomes.includes('ambiguous')) chain.lostThenAnswered++
  chain.tokens.push(next)
  chain.attemptsOnNewest = []
  return true
}

/** Each rotation presents the token the previous one returned; a failed chain starts over. */
async function rotateWorker(ctx: LoadContext, requests: GrantRequests): Promise<void> {
  let chain: { record: ChainRecord; client: TestClient } | undefined
  while (!ctx.control.draining) {
    if (chain === undefined) {
      const { record, client } = await requestGrant(ctx, requests, 'chain-grant')
      if (record.token === undefined) continue
      const tokens = [record.token]
      chain = {
        record: { root: record, tokens, attemptsOnNewest: [], lostThenAnswered: 0 },
        client
      }
      ctx.ledger.chains.push(chain.record)
    }
    if (!(await rotateNewest(ctx, chain.record, chain.client))) chain = undefined
  }
}

/** The browser opens interact.redirect: 302 to the IdP, with the session cookie. */
async function startInteraction(ctx: LoadContext, redirect: string) {
  const sent = await sendUntilAnswered(
    ctx,
    'interaction-start',
    () => ({ method: 'GET', url: redirect, headers: {} }),
    is302
  )
  if (sent.final !== 'ok' || !sent.answer) return undefined
  const location = new URL(sent.answer.headers.location ?? '', redirect)
  const id = location.searchParams.get('interactId')
  const nonce = location.searchParams.get('nonce')
  const cookie = sent.answer.headers['set-cookie']?.split('\n')[0]?.split(';')[0]
  if (!id || !nonce || !cookie) {
    malformed(ctx, 'interaction-start', 'without IdP location or cookie', sent.answer)
    return undefined
  }
  return { id, nonce, cookie }
}

/** The IdP accepts on the back channel; the browser then finishes and brings back interact_ref. */
async function approve(
  ctx: LoadContext,
  flow: FlowRecord,
  started: { id: string; nonce: string; cookie: string }
): Promise<string | undefined> {
  const path = `${started.id}/${started.nonce}`
  const accept = await sendUntilAnswered(
    ctx,
    'idp-accept',
    () => ({
      method: 'POST',
      url: `${ctx.urls.interaction}/grant/${path}/accept`,
      headers: {
        'x-idp-secret': ctx.idpSecret,
        accept: 'application/json',
        'content-type': 'application/json'
      },
      body: '{}'
    }),
    is202
  )
  flow.accepts = accept.outcomes
  if (accept.final !== 'ok') return undefined
  const finish = await sendUntilAnswered(
    ctx,
    'interaction-finish',
    () => ({
      method: 'GET',
      url: `${ctx.urls.auth}/interact/${path}/finish`,
      headers: { cookie: started.cookie }
    }),
    is302
  )
  if (finish.final !== 'ok' || !finish.answer) return undefined
  const location = finish.answer.headers.location ?? ''
  const ref = URL.canParse(location) ? new URL(location).searchParams.get('interact_ref') : null
  if (!ref) malformed(ctx, 'interaction-finish', 'without interact_ref', finish.answer)
  return ref ?? undefined
}

/** Grant request, interaction start, IdP accept, finish, continue with interact_ref. */
async function runFlow(ctx: LoadContext, requests: GrantRequests): Promise<void> {
  const { client, identifier, req } = requests.interactive()
  const { outcome, answer } = await sendOnce(ctx, 'interactive-grant', req, is200)
  const flow: FlowRecord = {
    grant: { op: 'interactive-grant', identifier, outcome, status: answer?.status },
    accepts: [],
    continues: []
  }
  ctx.ledger.flows.push(flow)
  if (outcome !== 'ok' || !answer) return
  const continuation = continuationOf(answer.body)
  const redirect = parseJson<GrantAnswer>(answer.body)?.interact?.redirect
  if (!continuation || typeof redirect !== 'string') {
    return malformed(ctx, 'interactive-grant', 'without interact or continue', answer)
  }
  flow.grant.continueId = continuation.id
  const started = await startInteraction(ctx, redirect)
  const ref = started && (await approve(ctx, flow, started))
  if (!ref) return
  const json = JSON.stringify({ interact_ref: ref })
  const build = () => signed(client, continuation.uri, json, continuation.token)
  const sent = await sendUntilAnswered(ctx, 'continue', build, is200)
  flow.continues = sent.outcomes
  if (sent.final !== 'ok' || !sent.answer) return
  flow.token = tokenOf(sent.answer.body)
  if (!flow.token) malformed(ctx, 'continue', 'without access_token', sent.answer)
}

async function interactiveWorker(ctx: LoadContext, requests: GrantRequests): Promise<void> {
  while (!ctx.control.draining) await runFlow(ctx, requests)
}

/** `concurrency` closed-loop workers, a third of each kind; resolves when all have stopped. */
export function runWorkers(ctx: LoadContext, concurrency: number): Promise<void> {
  const requests = new GrantRequests(ctx)
  const kinds = [grantWorker, rotateWorker, interactiveWorker]
  return Promise.all(
    Array.from({ length: concurrency }, (_, i) => kinds[i % kinds.length]!(ctx, requests))
  ).then(() => undefined)
}
