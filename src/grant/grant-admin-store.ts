import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import { liveTokenSql } from '../token/token-store.js'
import type { GrantStatus } from './grant-status.js'
import type { OutgoingLimits } from '../gnap/access.js'
import { normalizeWalletAddress } from '../gnap/client-identity.js'
import type { InteractionState } from '../interaction/interaction-lifecycle.js'
import type { Queryable } from '../storage/db.js'

/*
 * Grants as operators see them (the admin API, the CLI, the console): listed with filters in
 * (created_at, id) order with keyset paging, and read whole, with the ids and times of their
 * access items and subjects.
 */

export interface AdminGrantRow {
  id: string
  tenantId: string
  client: string | null
  /** The client's public name, from its wallet address document (interactive grants only). */
  clientName: string | null
  state: GrantState
  finalizationReason: FinalizationReason | null
  /** An unrevoked, unexpired token of it exists now (its status: grant-status.ts). */
  hasLiveToken: boolean
  createdAt: Date
}

export interface AdminGrant extends AdminGrantRow {
  access: {
    id: string
    type: string
    actions: string[]
    identifier: string | null
    limits: OutgoingLimits | null
    createdAt: string
  }[]
  subIds: { id: string; subId: string; subIdFormat: string; createdAt: string }[]
}

export interface GrantListFilter {
  tenantId?: string
  /** Grants with an access item on any of these identifiers (wallet addresses). */
  identifiers?: readonly string[]
  /**
   * Grants with an access item on this wallet address or whose client it is (`grants.client`).
   * A client is stored in its one spelling (normalizeWalletAddress), so any spelling of it finds
   * its grants; an access item's identifier is stored as its client wrote it (the resource server
   * compares it as written), and matches the address as given or in that spelling.
   */
  walletAddress?: string
  stateIn?: readonly GrantState[]
  stateNotIn?: readonly GrantState[]
  reasonIn?: readonly FinalizationReason[]
  reasonNotIn?: readonly FinalizationReason[]
  /** Grants in any of these statuses (grant-status.ts), which read the tokens' state too. */
  statusIn?: readonly GrantStatus[]
}

/** One step of keyset paging: `limit` rows after (or before) the cursor, in `order`. */
export interface GrantListPage {
  order: 'ASC' | 'DESC'
  direction: 'after' | 'before'
  /** A grant id; without it, the first rows in `order`. */
  cursor?: string
  limit: number
}

// A grant's tokens are found by access_tokens_grant_id_idx: a handful of rows (a token and its
// rotations, spent ones purged by retention), so the probe costs one index lookup per grant read.
// As a condition, the planner joins it to the page's walk of grants (a semi or anti join).
const LIVE_TOKEN_OF_G = `from access_tokens t where t.grant_id = g.id and ${liveTokenSql('t')}`
const LIVE_TOKEN = `exists (select 1 ${LIVE_TOKEN_OF_G})`

// In the select list the same probe is a scalar subquery: an `exists` there may be planned as a
// hashed subplan, which reads every token of every grant to answer a page of 20.
const ROW = `g.id, g.tenant_id as "tenantId", g.client, g.client_name as "clientName", g.state,
  g.finalization_reason as "finalizationReason",
  coalesce((select true ${LIVE_TOKEN_OF_G} limit 1), false) as "hasLiveToken",
  g.created_at as "createdAt"`

/** A grant's access items and subjects, with their ids and creation times, in request order. */
const CONTENTS = `coalesce((select json_agg(json_build_object('id', a.id, 'type', a.type,
      'actions', a.actions, 'identifier', a.identifier, 'limits', a.limits,
      'createdAt', a.created_at) order by a.position)
    from accesses a where a.grant_id = g.id), '[]') as access,
  coalesce((select json_agg(json_build_object('id', s.id, 'subId', s.sub_id,
      'subIdFormat', s.sub_id_format, 'createdAt', s.created_at) order by s.position)
    from subjects s where s.grant_id = g.id), '[]') as "subIds"`

/**
 * The condition of grants in any of `statuses` (grant-status.ts: statusOf). A finalized grant
 * always has its reason (a check of migration 001), so the reason alone names revoked, rejected
 * and issued-or-inactive grants; the tokens are read only to tell issued from inactive.
 */
function statusCondition(statuses: readonly GrantStatus[], p: (value: unknown) => string) {
  const named = new Set(statuses)
  const states = (['PENDING', 'APPROVED', 'PROCESSING'] as const).filter((s) =>
    named.has(s.toLowerCase() as GrantStatus)
  )
  const reasons: FinalizationReason[] = []
  if (named.has('revoked')) reasons.push('REVOKED')
  if (named.has('rejected')) reasons.push('REJECTED')
  if (named.has('issued') && named.has('inactive')) reasons.push('ISSUED')
  const any: string[] = []
  if (states.length) any.push(`g.state = any(${p(states)}::text[])`)
  if (reasons.length) any.push(`g.finalization_reason = any(${p(reasons)}::text[])`)
  if (named.has('issued') !== named.has('inactive')) {
    const live = named.has('issued') ? LIVE_TOKEN : `not ${LIVE_TOKEN}`
    any.push(`(g.finalization_reason = 'ISSUED' and ${live})`)
  }
  return any.length === 1 ? any[0]! : `(${any.join(' or ')})`
}

/**
 * The conditions of `filter`, with their parameters appended to `params`. Only the conditions
 * given are written, so each combination is its own statement with its own plan.
 */
function whereOf(filter: GrantListFilter, params: unknown[]): string[] {
  const p = (value: unknown) => `$${params.push(value)}`
  const where: string[] = []
  if (filter.tenantId !== undefined) where.push(`g.tenant_id = ${p(filter.tenantId)}`)
  if (filter.identifiers?.length) {
    where.push(
      `g.id in (select a.grant_id from accesses a where a.identifier = any(${p(filter.identifiers)}::text[]))`
    )
  }
  if (filter.stateIn?.length) where.push(`g.state = any(${p(filter.stateIn)}::text[])`)
  if (filter.stateNotIn?.length) where.push(`g.state <> all(${p(filter.stateNotIn)}::text[])`)
  if (filter.reasonIn?.length) {
    where.push(`g.finalization_reason = any(${p(filter.reasonIn)}::text[])`)
  }
  if (filter.reasonNotIn?.length) {
    // A grant not finalized has no reason, so it is not one of those excluded.
    where.push(
      `(g.finalization_reason is null or g.finalization_reason <> all(${p(filter.reasonNotIn)}::text[]))`
    )
  }
  if (filter.statusIn?.length) where.push(statusCondition(filter.statusIn, p))
  return where
}

/**
 * Rows of one page, in `page.order` whatever the direction (a page before the cursor is read
 * backwards and turned round), so that Relay's `last`/`before` works as `first`/`after`.
 */
export async function listGrants(
  q: Queryable,
  filter: GrantListFilter,
  page: GrantListPage
): Promise<AdminGrant[]>
/** Only whether rows exist there: their ids alone. */
export async function listGrants(
  q: Queryable,
  filter: GrantListFilter,
  page: GrantListPage,
  options: { contents: false }
): Promise<{ id: string }[]>
export async function listGrants(
  q: Queryable,
  filter: GrantListFilter,
  page: GrantListPage,
  options: { contents: boolean } = { contents: true }
): Promise<{ id: string }[]> {
  const params: unknown[] = []
  const where = whereOf(filter, params)
  // Reading backwards flips the order; the comparison follows the order read.
  const backwards = page.direction === 'before'
  const readOrder = backwards ? (page.order === 'ASC' ? 'DESC' : 'ASC') : page.order
  if (page.cursor !== undefined) {
    const cmp = readOrder === 'ASC' ? '>' : '<'
    where.push(
      `(g.created_at, g.id) ${cmp} (select c.created_at, c.id from grants c where c.id = $${params.push(page.cursor)}::uuid)`
    )
  }
  const limit = `$${params.push(page.limit)}`
  const order = `order by g.created_at ${readOrder}, g.id ${readOrder} limit ${limit}`
  let from = `from grants g ${where.length ? `where ${where.join(' and ')}` : ''}`
  if (filter.walletAddress !== undefined) {
    // An address is an access item's identifier or the client's own. Written as an `or`, the
    // planner can only walk grants_created_idx filtering every grant (all of them for an address
    // with no grant); as a union, each side is its own page read by its own index (the client's
    // by grants_client_created_idx, in order; the access items' by accesses_identifier_grant_idx),
    // with every other condition and the cursor inside, and the page is the first rows of both.
    const client = normalizeWalletAddress(filter.walletAddress)
    const address = `$${params.push(client)}`
    const spellings = `$${params.push([...new Set([filter.walletAddress, client])])}::text[]`
    const side = (condition: string) =>
      `(select g.id from grants g where ${[condition, ...where].join(' and ')} ${order})`
    from = `from grants g where g.id in (${side(`g.client = ${address}`)} union all ${side(
      `g.id in (select a.grant_id from accesses a where a.identifier = any(${spellings}))`
    )})`
  }
  // Asked only whether rows exist, it reads their ids: no token probe, no contents.
  const { rows } = await q.query<AdminGrant>(
    `select ${options.contents ? `${ROW}, ${CONTENTS}` : 'g.id'} ${from} ${order}`,
    params
  )
  return backwards ? rows.reverse() : rows
}

/** A grant with its access items and subjects (ids and creation times included). */
export async function findAdminGrant(
  q: Queryable,
  id: string,
  tenantId?: string
): Promise<AdminGrant | undefined> {
  const params: unknown[] = [id]
  const tenantCondition =
    tenantId === undefined ? '' : `and g.tenant_id = $${params.push(tenantId)}`
  const { rows } = await q.query<AdminGrant>(
    `select ${ROW}, ${CONTENTS} from grants g where g.id = $1 ${tenantCondition}`,
    params
  )
  return rows[0]
}

/** An interaction of a grant as operators see it (RFC 9635 §4): asked, answered, finished. */
export interface InteractionHistory {
  id: string
  state: InteractionState
  createdAt: Date
  /** When the account holder answered (null while PENDING). */
  decidedAt: Date | null
  /** When the browser was sent back to the client (or told to go back, for a polling client). */
  finishedAt: Date | null
  expiresAt: Date
  /**
   * Past its lifetime by the database clock (as interaction-store judges it), whatever its
   * state: expired unanswered is PENDING and expired.
   */
  expired: boolean
}

/** An access token of a grant as operators see it: its times and rotations, never its value. */
export interface TokenHistory {
  id: string
  createdAt: Date
  expiresAt: Date
  /** Past its lifetime by the database clock (as introspection judges it), whatever else. */
  expired: boolean
  revokedAt: Date | null
  /** The token this one replaced by rotation (RFC 9635 §6.1); it may be deleted since. */
  rotatedFrom: string | null
  /** The token that replaced this one by rotation. */
  replacedBy: string | null
}

export interface GrantHistory {
  interactions: InteractionHistory[]
  tokens: TokenHistory[]
}

// Both lists in one statement, so they are read at one moment. Only ids and times are selected:
// a token's hash and management id, an interaction's ref and nonce never leave the database.
// A token is replaced at most once (rotation revokes it in the statement that inserts the new
// one), so `replacedBy` is one row; `limit 1` keeps a page readable whatever the data says.
const HISTORY = `coalesce((select json_agg(json_build_object('id', i.id, 'state', i.state,
      'createdAt', i.created_at,
      'decidedAt', case when i.state <> 'PENDING' then i.updated_at end,
      'finishedAt', i.finished_at,
      'expiresAt', i.created_at + make_interval(secs => i.expires_in),
      'expired', i.created_at + make_interval(secs => i.expires_in) < now())
      order by i.created_at, i.id)
    from interactions i where i.grant_id = g.id), '[]') as interactions,
  coalesce((select json_agg(json_build_object('id', t.id, 'createdAt', t.created_at,
      'expiresAt', t.created_at + make_interval(secs => t.expires_in),
      'expired', t.created_at + make_interval(secs => t.expires_in) < now(),
      'revokedAt', t.revoked_at, 'rotatedFrom', t.rotated_from,
      'replacedBy', (select n.id from access_tokens n
        where n.grant_id = t.grant_id and n.rotated_from = t.id limit 1))
      order by t.created_at, t.id)
    from access_tokens t where t.grant_id = g.id), '[]') as tokens`

/** A row as json_build_object gives it: its times are ISO strings. */
type AsJson<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K]
}

const dateOrNull = (value: string | null) => (value === null ? null : new Date(value))

/**
 * A grant's interactions and tokens, each list in time order (undefined when there is no such
 * grant, in `tenantId` when given, as findAdminGrant).
 */
export async function findGrantHistory(
  q: Queryable,
  grantId: string,
  tenantId?: string
): Promise<GrantHistory | undefined> {
  const params: unknown[] = [grantId]
  const tenantCondition =
    tenantId === undefined ? '' : `and g.tenant_id = $${params.push(tenantId)}`
  const { rows } = await q.query<{
    interactions: AsJson<InteractionHistory>[]
    tokens: AsJson<TokenHistory>[]
  }>(`select ${HISTORY} from grants g where g.id = $1 ${tenantCondition}`, params)
  const row = rows[0]
  if (row === undefined) return undefined
  return {
    interactions: row.interactions.map((i) => ({
      ...i,
      createdAt: new Date(i.createdAt),
      decidedAt: dateOrNull(i.decidedAt),
      finishedAt: dateOrNull(i.finishedAt),
      expiresAt: new Date(i.expiresAt)
    })),
    tokens: row.tokens.map((t) => ({
      ...t,
      createdAt: new Date(t.createdAt),
      expiresAt: new Date(t.expiresAt),
      revokedAt: dateOrNull(t.revokedAt)
    }))
  }
}
