import type { CrashHttp } from './http.js'
import type { Ledger } from './ledger.js'
import { parseJson } from './load.js'

/** What the introspection listener said of a token, or why it could not say. */
export type Introspection = { active: boolean; grant?: string } | { failed: string }

/** Every token value the ledger holds: issued with grants, by rotations and by continuations. */
export function knownTokens(ledger: Ledger): string[] {
  const values = new Set<string>()
  for (const g of ledger.grants) if (g.token) values.add(g.token.value)
  for (const c of ledger.chains) for (const t of c.tokens) values.add(t.value)
  for (const f of ledger.flows) if (f.token) values.add(f.token.value)
  return [...values]
}

async function introspectOne(http: CrashHttp, url: string, value: string) {
  const reply = await http.send({
    method: 'POST',
    url: `${url}/`,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ access_token: value })
  })
  if (reply.kind !== 'answered') return { failed: `no answer (${reply.cause})` }
  const body = parseJson<{ active: boolean; grant: string }>(reply.body)
  if (reply.status !== 200 || typeof body?.active !== 'boolean') {
    return { failed: `${reply.status} ${reply.body.slice(0, 200)}` }
  }
  return { active: body.active, grant: body.grant }
}

/**
 * Asks the resource servers' API, as they would, about every known token: the public verdict
 * the checks compare with the ledger (and with the database, which must agree with it).
 */
export async function introspectAll(
  http: CrashHttp,
  introspectionUrl: string,
  values: string[],
  concurrency = 8
): Promise<Map<string, Introspection>> {
  const results = new Map<string, Introspection>()
  let next = 0
  const worker = async () => {
    while (next < values.length) {
      const value = values[next++]!
      results.set(value, await introspectOne(http, introspectionUrl, value))
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return results
}
