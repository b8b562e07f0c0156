import type { Db } from '../../src/storage/db.js'
import { webhookSourceTypes } from '../../src/webhook/webhook-events.js'

export interface GrantRow {
  id: string
  continueId: string
  state: string
  reason: string | null
  identifiers: string[]
}

export interface TokenRow {
  grantId: string
  /** It replaced another token (a rotation made it). */
  rotated: boolean
  /** SHA-256 of the token value, hex: opas stores tokens only as hashes. */
  hash: string
  unrevoked: boolean
  unexpired: boolean
}

/** What the database holds after the last restart, indexed the ways the checks look it up. */
export interface Snapshot {
  grants: GrantRow[]
  grantByContinueId: Map<string, GrantRow>
  grantsByIdentifier: Map<string, GrantRow[]>
  grantById: Map<string, GrantRow>
  tokensByGrant: Map<string, TokenRow[]>
  tokenByHash: Map<string, TokenRow>
  interactionStatesByGrant: Map<string, string[]>
  /** How many of a grant's interactions were finished (the browser sent back). */
  finishedInteractionsByGrant: Map<string, number>
  /** The audit trail: each grant's event types, in the order written. */
  eventsByGrant: Map<string, string[]>
  /** The events a webhook tells of (webhook-events.ts), in the order written. */
  webhookEvents: Array<{ id: string; type: string; grantId: string | null }>
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

async function readGrants(db: Db): Promise<GrantRow[]> {
  const { rows } = await db.query<Omit<GrantRow, 'identifiers'>>(
    `select id::text as id, continue_id::text as "continueId", state,
       finalization_reason as reason from grants`
  )
  const access = await db.query<{ grantId: string; identifier: string | null }>(
    'select grant_id::text as "grantId", identifier from accesses'
  )
  const identifiers = new Map<string, string[]>()
  for (const a of access.rows) if (a.identifier !== null) push(identifiers, a.grantId, a.identifier)
  return rows.map((g) => ({ ...g, identifiers: identifiers.get(g.id) ?? [] }))
}

async function readTokens(db: Db): Promise<TokenRow[]> {
  const { rows } = await db.query<TokenRow>(
    `select grant_id::text as "grantId", encode(value_hash, 'hex') as hash,
       rotated_from is not null as rotated, revoked_at is null as unrevoked,
       created_at + make_interval(secs => expires_in) >= now() as unexpired
     from access_tokens`
  )
  return rows
}

/**
 * Reads every grant, access identifier, token, interaction and grant event: a crash run stores
 * a few 10k.
 */
export async function takeSnapshot(db: Db): Promise<Snapshot> {
  const grants = await readGrants(db)
  const tokens = await readTokens(db)
  const interactions = await db.query<{ grantId: string; state: string; finished: boolean }>(
    'select grant_id::text as "grantId", state, finished_at is not null as finished from interactions'
  )
  const events = await db.query<{ grantId: string; type: string }>(
    `select grant_id::text as "grantId", type from events where grant_id is not null
     order by id`
  )
  const webhookEvents = await db.query<{ id: string; type: string; grantId: string | null }>(
    `select id::text as id, type, grant_id::text as "grantId" from events
     where type = any($1::text[]) order by id`,
    [webhookSourceTypes]
  )
  const snapshot: Snapshot = {
    grants,
    grantByContinueId: new Map(grants.map((g) => [g.continueId, g])),
    grantById: new Map(grants.map((g) => [g.id, g])),
    grantsByIdentifier: new Map(),
    tokensByGrant: new Map(),
    tokenByHash: new Map(tokens.map((t) => [t.hash, t])),
    interactionStatesByGrant: new Map(),
    finishedInteractionsByGrant: new Map(),
    eventsByGrant: new Map(),
    webhookEvents: webhookEvents.rows
  }
  for (const g of grants) for (const id of g.identifiers) push(snapshot.grantsByIdentifier, id, g)
  for (const t of tokens) push(snapshot.tokensByGrant, t.grantId, t)
  for (const i of interactions.rows) {
    push(snapshot.interactionStatesByGrant, i.grantId, i.state)
    const finished = snapshot.finishedInteractionsByGrant.get(i.grantId) ?? 0
    snapshot.finishedInteractionsByGrant.set(i.grantId, finished + (i.finished ? 1 : 0))
  }
  for (const e of events.rows) push(snapshot.eventsByGrant, e.grantId, e.type)
  return snapshot
}
