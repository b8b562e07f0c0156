import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import type { OutgoingLimits } from '../gnap/access.js'
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
  state: GrantState
  finalizationReason: FinalizationReason | null
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
  stateIn?: readonly GrantState[]
  stateNotIn?: readonly GrantState[]
  reasonIn?: readonly FinalizationReason[]
  reasonNotIn?: readonly FinalizationReason[]
}

/** One step of keyset paging: `limit` rows after (or before) the cursor, in `order`. */
export interface GrantListPage {
  order: 'ASC' | 'DESC'
  direction: 'after' | 'before'
  /** A grant id; without it, the first rows in `order`. */
  cursor?: string
  limit: number
}

const ROW = `g.id, g.tenant_id as "tenantId", g.client, g.state,
  g.finalization_reason as "finalizationReason", g.created_at as "createdAt"`

/** A grant's access items and subjects, with their ids and creation times, in request order. */
const CONTENTS = `coalesce((select json_agg(json_build_object('id', a.id, 'type', a.type,
      'actions', a.actions, 'identifier', a.identifier, 'limits', a.limits,
      'createdAt', a.created_at) order by a.position)
    from accesses a where a.grant_id = g.id), '[]') as access,
  coalesce((select json_agg(json_build_object('id', s.id, 'subId', s.sub_id,
      'subIdFormat', s.sub_id_format, 'createdAt', s.created_at) order by s.position)
    from subjects s where s.grant_id = g.id), '[]') as "subIds"`

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
/** Only whether rows exist there: without their contents. */
export async function listGrants(
  q: Queryable,
  filter: GrantListFilter,
  page: GrantListPage,
  options: { contents: false }
): Promise<AdminGrantRow[]>
export async function listGrants(
  q: Queryable,
  filter: GrantListFilter,
  page: GrantListPage,
  options: { contents: boolean } = { contents: true }
): Promise<AdminGrantRow[]> {
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
  const { rows } = await q.query<AdminGrantRow>(
    `select ${ROW}${options.contents ? `, ${CONTENTS}` : ''} from grants g
     ${where.length ? `where ${where.join(' and ')}` : ''}
     order by g.created_at ${readOrder}, g.id ${readOrder}
     limit ${limit}`,
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
