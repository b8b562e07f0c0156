import { Pool } from 'undici'
import { assertLoopback } from '../../bench/http.js'

/** One request of the crash test: the signed POSTs, and the browser's and IdP's plain calls. */
export interface CrashRequest {
  method: 'GET' | 'POST'
  url: string
  headers: Record<string, string>
  body?: Buffer | string
}

/**
 * What became of a request. `unanswered` splits in two, because they allow different
 * conclusions: `refused` requests never reached opas (the connection could not be opened, the
 * server was down), so they cannot have changed anything; `ambiguous` ones were written to a
 * connection that then broke (reset, closed, timed out) before an answer came: opas may have
 * committed their effect before it died, or not.
 */
export type Reply =
  | { kind: 'answered'; status: number; body: string; headers: Record<string, string> }
  | { kind: 'refused' | 'ambiguous'; cause: string }

// Errors raised before a single byte of the request was written: connect() failed.
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL'])

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : (err as Error).name
}

function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw)) {
    // Only set-cookie repeats, and only its first value is read.
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join('\n') : value
  }
  return out
}

/**
 * Keep-alive HTTP/1.1 over one undici pool per origin (opas' listeners have one port each).
 * undici never retries a POST by itself, so one send is one attempt: the ledger stays exact.
 */
export class CrashHttp {
  private readonly pools = new Map<string, Pool>()
  /** Requests sent and not yet settled: a kill waits for one (phase.ts) and records how many. */
  inFlight = 0

  constructor(private readonly connections: number) {}

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      assertLoopback(origin)
      pool = new Pool(origin, {
        connections: this.connections,
        pipelining: 1,
        // A hung server must not hang the test: every request settles within 30 s.
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
        connectTimeout: 5_000
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  async send(req: CrashRequest): Promise<Reply> {
    const url = new URL(req.url)
    this.inFlight++
    try {
      const res = await this.pool(url.origin).request({
        method: req.method,
        path: url.pathname + url.search,
        headers: req.headers,
        body: req.body
      })
      const body = await res.body.text()
      return { kind: 'answered', status: res.statusCode, body, headers: flatHeaders(res.headers) }
    } catch (err) {
      const cause = errorCode(err)
      return { kind: NOT_DELIVERED.has(cause) ? 'refused' : 'ambiguous', cause }
    } finally {
      this.inFlight--
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()))
    this.pools.clear()
  }
}
