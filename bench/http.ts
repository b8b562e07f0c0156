import { Pool } from 'undici'

/** One request the load generator sends; every scenario request is a POST of a JSON body. */
export interface BenchRequest {
  /** Absolute URL; its origin selects the connection pool. */
  url: string
  headers: Record<string, string>
  /** undefined: no body (token rotation, as the SDK sends it). */
  body: Buffer | undefined
}

export interface Answer {
  status: number
  body: string
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** The benchmark sends traffic to this machine only; anything else is a mistake in its input. */
export function assertLoopback(url: string): URL {
  const parsed = new URL(url)
  if (!LOOPBACK.has(parsed.hostname) || parsed.protocol !== 'http:') {
    throw new Error(`refusing to send benchmark traffic to ${parsed.origin}: loopback http only`)
  }
  return parsed
}

/**
 * Keep-alive HTTP/1.1 over undici pools, one pool per origin (opas has separate auth and
 * introspection listeners), each with as many connections as there are concurrent workers, so
 * no worker ever waits for another's connection.
 */
export class Http {
  private readonly pools = new Map<string, Pool>()

  constructor(private readonly connections: number) {}

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      assertLoopback(origin)
      pool = new Pool(origin, {
        connections: this.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        // A hung server must not hang the benchmark: every request ends within 30 s.
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
        connectTimeout: 10_000
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  async send(req: BenchRequest): Promise<Answer> {
    // Splitting by hand is cheaper than new URL() per request; URLs come from the server or us.
    const slash = req.url.indexOf('/', req.url.indexOf('//') + 2)
    const origin = slash === -1 ? req.url : req.url.slice(0, slash)
    const path = slash === -1 ? '/' : req.url.slice(slash)
    const res = await this.pool(origin).request({
      method: 'POST',
      path,
      headers: req.headers,
      body: req.body
    })
    return { status: res.statusCode, body: await res.body.text() }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()))
    this.pools.clear()
  }
}
