import type { TestClient } from '../test/helpers/wallet-address-server.js'
import type { Answer, BenchRequest, Http } from './http.js'
import { RunContext, SetupError, type WorkerLogic } from './load.js'
import { apiSignatureHeader } from '../src/tenant/api-signature.js'
import { BENCH_ADMIN_SECRET, BENCH_TENANT_ID } from './opas-process.js'
import { signedPost } from './signer.js'
import type { ErrorTally } from './stats.js'

export const scenarioNames = [
  'grant',
  'rotate',
  'introspect',
  'introspect-access',
  'continue-poll',
  'mixed',
  'admin-list'
] as const
export type ScenarioName = (typeof scenarioNames)[number]

/** The floor server only answers grant, rotate and introspect. */
export const floorScenarios: readonly ScenarioName[] = ['grant', 'rotate', 'introspect', 'mixed']

/** Where the scenarios send their requests (opas, or the floor server). */
export interface Target {
  kind: 'opas' | 'floor'
  grantUrl: string
  introspectUrl: string
  /** The admin GraphQL API (opas only). */
  adminUrl?: string
}

export interface ScenarioEnv {
  target: Target
  clients: TestClient[]
  /** Origin of the local wallet server; access identifiers are `${walletUrl}/account-${n}`. */
  walletUrl: string
  /** How many tokens the introspection scenarios pre-issue. */
  tokenPoolSize: number
  /** Grants the prefill stored (--prefill): admin-list looks them up by wallet address. */
  prefilled: number
}

interface PooledToken {
  /** Introspection bodies, built once: introspection requests are unsigned and static. */
  plain: Buffer
  withAccess: Buffer
}

interface IssuedToken {
  value: string
  manage: string
}

const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' }

const ADMIN_LIST_QUERY = `query Grants($filter: GrantFilter) {
  grants(first: 20, filter: $filter) {
    pageInfo { endCursor hasNextPage }
    edges { cursor node { id client state finalizationReason createdAt
      access { type actions identifier limits { interval debitAmount { value assetCode } } } } }
  }
}`

// Tokens live ACCESS_TOKEN_EXPIRY_SECONDS (600 s by default, and on the floor server); a pool is
// used only while it has a minute to spare after the run that uses it.
export const TOKEN_USABLE_MS = 540_000
const TOKEN_SCENARIOS: readonly ScenarioName[] = ['introspect', 'introspect-access', 'mixed']

// JSON whitespace characters: a poll body `{}` with the worker's poll count written in them is
// still the empty object, but its digest, and so its signature, differ from every other poll.
const JSON_WS = [' ', '\t', '\n', '\r']
function emptyObjectNumbered(n: number): string {
  let inner = ''
  for (let k = n; k > 0; k = Math.floor(k / 4)) inner += JSON_WS[k % 4]
  return `{${inner}}`
}

/** The parsed body, or undefined when it is not JSON (a broken server must not crash a worker). */
function parseJson<T>(body: string): Partial<T> | undefined {
  try {
    return JSON.parse(body) as Partial<T>
  } catch {
    return undefined
  }
}

function tokenOf(answer: Answer): IssuedToken | undefined {
  const token = parseJson<{ access_token: Partial<IssuedToken> }>(answer.body)?.access_token
  return typeof token?.value === 'string' && typeof token.manage === 'string'
    ? { value: token.value, manage: token.manage }
    : undefined
}

/** Builds the workers of each scenario; owns the introspection token pool and the unique counter. */
export class Scenarios {
  private seq = 0
  private pool: { tokens: PooledToken[]; issuedAt: number } | undefined
  // The static parts of the grant bodies, per client: only the identifier's number varies.
  private readonly incomingPrefix: string[]
  private readonly outgoingPrefix: string[]

  constructor(private readonly env: ScenarioEnv) {
    const access = (type: string, actions: string[]) =>
      `"access_token":{"access":[{"type":"${type}","actions":${JSON.stringify(actions)},` +
      `"identifier":${JSON.stringify(`${env.walletUrl}/account-`).slice(0, -1)}`
    this.incomingPrefix = env.clients.map(
      (c) =>
        `{"client":${JSON.stringify(c.walletAddress)},` +
        access('incoming-payment', ['create', 'read', 'list'])
    )
    this.outgoingPrefix = env.clients.map(
      (c) =>
        `{"client":${JSON.stringify(c.walletAddress)},` +
        access('outgoing-payment', ['create', 'read'])
    )
  }

  /**
   * The next request number, and the client that signs it: clients take turns, so the server's
   * key cache sees all of them at any concurrency.
   */
  private nextClient(): { n: number; k: number; client: TestClient } {
    const n = ++this.seq
    const k = n % this.env.clients.length
    return { n, k, client: this.env.clients[k]! }
  }

  /** A non-interactive incoming-payment grant request with a never-repeated identifier. */
  grantRequest(): { req: BenchRequest; identifier: string; client: TestClient } {
    const { n, k, client } = this.nextClient()
    const json = `${this.incomingPrefix[k]}${n}"}]}}`
    return {
      req: signedPost(client, this.env.target.grantUrl, json),
      identifier: `${this.env.walletUrl}/account-${n}`,
      client
    }
  }

  /** An interactive (redirect, no finish: the client polls) outgoing-payment grant request. */
  private pollingGrantRequest(): { req: BenchRequest; client: TestClient } {
    const { n, k, client } = this.nextClient()
    const json = `${this.outgoingPrefix[k]}${n}"}]},"interact":{"start":["redirect"]}}`
    return { req: signedPost(client, this.env.target.grantUrl, json), client }
  }

  /** True when `name` introspects and the token pool is missing or would expire within `ms`. */
  needsTokens(name: ScenarioName, ms: number): boolean {
    if (!TOKEN_SCENARIOS.includes(name)) return false
    return this.pool === undefined || Date.now() - this.pool.issuedAt + ms > TOKEN_USABLE_MS
  }

  /** Issues the introspection token pool (unmeasured); throws when not even half could be. */
  async issueTokens(http: Http, setupErrors: ErrorTally): Promise<void> {
    this.pool = undefined
    const issuedAt = Date.now() // the oldest token's age is what matters
    const tokens: PooledToken[] = []
    const ctx = new RunContext(http, setupErrors)
    const want = this.env.tokenPoolSize
    const deadline = Date.now() + 120_000
    let attempts = 0
    // Bounded in count (twice the pool) and time; 16 in flight at once.
    const loop = async () => {
      while (tokens.length < want && attempts < 2 * want && Date.now() < deadline) {
        attempts++
        const { req, identifier } = this.grantRequest()
        const token = await ctx.setup(req, 'token pool grant').then(tokenOf, () => undefined)
        if (token === undefined) continue
        tokens.push({
          plain: Buffer.from(JSON.stringify({ access_token: token.value })),
          withAccess: Buffer.from(
            JSON.stringify({
              access_token: token.value,
              access: [{ type: 'incoming-payment', actions: ['read'], identifier }]
            })
          )
        })
      }
    }
    await Promise.all(Array.from({ length: 16 }, loop))
    if (tokens.length < want / 2) {
      throw new Error(`could not pre-issue introspection tokens: ${tokens.length} of ${want}`)
    }
    this.pool = { tokens, issuedAt }
  }

  workers(name: ScenarioName, concurrency: number, ctx: RunContext): WorkerLogic[] {
    return Array.from({ length: concurrency }, (_, i) => this.worker(name, i, concurrency, ctx))
  }

  private worker(
    name: ScenarioName,
    index: number,
    concurrency: number,
    ctx: RunContext
  ): WorkerLogic {
    switch (name) {
      case 'grant':
        return this.grantWorker()
      case 'rotate':
        return this.rotateWorker(ctx)
      case 'introspect':
        return this.introspectWorker(index, concurrency, false)
      case 'introspect-access':
        return this.introspectWorker(index, concurrency, true)
      case 'continue-poll':
        return this.pollWorker(ctx)
      case 'mixed':
        return this.mixedWorker(index, concurrency, ctx)
      case 'admin-list':
        return this.adminListWorker()
    }
  }

  private grantWorker(): WorkerLogic {
    return {
      next: () => this.grantRequest().req,
      settle: (a) => (a?.status === 200 && !a.body.includes('"manage"') ? 'no token' : undefined)
    }
  }

  /** Chains rotations, each with the token the previous one returned; starts over on failure. */
  private rotateWorker(ctx: RunContext): WorkerLogic {
    let current: (IssuedToken & { client: TestClient }) | undefined
    return {
      next: async () => {
        if (current === undefined) {
          const { req, client } = this.grantRequest()
          const answer = await ctx.setup(req, 'rotate grant')
          const token = tokenOf(answer)
          if (token === undefined) {
            ctx.setupErrors.add('setup rotate grant: no access_token', answer.body)
            throw new SetupError('rotate grant')
          }
          current = { ...token, client }
        }
        // The grant's client signs every rotation of its tokens.
        return signedPost(current.client, current.manage, undefined, current.value)
      },
      settle: (a) => {
        const next = a?.status === 200 ? tokenOf(a) : undefined
        current = next && current ? { ...next, client: current.client } : undefined
        return a?.status === 200 && next === undefined ? 'no access_token' : undefined
      }
    }
  }

  private introspectWorker(index: number, concurrency: number, withAccess: boolean): WorkerLogic {
    const tokens = this.pool?.tokens
    if (!tokens?.length) throw new Error('introspection token pool not prepared')
    const url = this.env.target.introspectUrl
    let k = index
    return {
      next: () => {
        const token = tokens[k % tokens.length]!
        k += concurrency
        return { url, headers: JSON_HEADERS, body: withAccess ? token.withAccess : token.plain }
      },
      settle: (a) => {
        if (a?.status !== 200) return undefined
        if (!a.body.includes('"active":true')) return 'token not active'
        return withAccess && a.body.includes('"access":[]')
          ? 'requested access not matched'
          : undefined
      }
    }
  }

  /** Starts one interactive grant, then polls it; a pending grant answers 200 with `continue`. */
  private pollWorker(ctx: RunContext): WorkerLogic {
    let grant: { uri: string; token: string; client: TestClient } | undefined
    let polls = 0
    return {
      next: async () => {
        if (grant === undefined) {
          const { req, client } = this.pollingGrantRequest()
          const answer = await ctx.setup(req, 'polling grant')
          const body = parseJson<{ continue: { uri?: string; access_token?: { value?: string } } }>(
            answer.body
          )
          const uri = body?.continue?.uri
          const token = body?.continue?.access_token?.value
          if (typeof uri !== 'string' || typeof token !== 'string') {
            ctx.setupErrors.add('setup polling grant: no continue', answer.body)
            throw new SetupError('polling grant')
          }
          grant = { uri, token, client }
        }
        return signedPost(grant.client, grant.uri, emptyObjectNumbered(polls++), grant.token)
      },
      settle: (a) => {
        if (a?.status !== 200) {
          grant = undefined
          return undefined
        }
        const body = parseJson<{ continue: unknown; access_token: unknown }>(a.body)
        return body?.continue === undefined || body.access_token !== undefined
          ? 'not pending'
          : undefined
      }
    }
  }

  /**
   * What an operator's tools ask of the admin API, signed as they sign: a page of 20 grants,
   * newest first, filtered by state, every other request also by the wallet address of an access
   * item (a prefilled account, or one of this run's grants).
   */
  private adminListWorker(): WorkerLogic {
    const url = this.env.target.adminUrl
    if (url === undefined) throw new Error('admin-list needs opas (the admin API)')
    return {
      next: () => {
        const n = ++this.seq
        const account =
          this.env.prefilled > 0
            ? `http://127.0.0.1:9/prefill/account-${Math.floor(Math.random() * this.env.prefilled)}`
            : `${this.env.walletUrl}/account-${Math.ceil(Math.random() * n)}`
        const filter = {
          state: { in: ['FINALIZED'] },
          ...(n % 2 === 0 ? { identifier: { in: [account] } } : {})
        }
        // `n` makes each body, and so each signature, new to the replay record.
        const body = { query: ADMIN_LIST_QUERY, variables: { filter, n } }
        const headers = {
          ...JSON_HEADERS,
          'tenant-id': BENCH_TENANT_ID,
          signature: apiSignatureHeader(BENCH_ADMIN_SECRET, 1, body, Date.now())
        }
        return { url, headers, body: Buffer.from(JSON.stringify(body)) }
      },
      settle: (a) =>
        a?.status === 200 && (!a.body.includes('"edges"') || a.body.includes('"errors"'))
          ? 'GraphQL errors'
          : undefined
    }
  }

  /** grant : rotate : introspect = 1 : 1 : 3, drawn at random per request. */
  private mixedWorker(index: number, concurrency: number, ctx: RunContext): WorkerLogic {
    const grant = this.grantWorker()
    const rotate = this.rotateWorker(ctx)
    const introspect = this.introspectWorker(index, concurrency, false)
    let last = grant
    return {
      next: () => {
        const r = Math.random() * 5
        last = r < 1 ? grant : r < 2 ? rotate : introspect
        return last.next()
      },
      settle: (a) => last.settle(a)
    }
  }
}
