import type { Logger } from 'pino'
import type { EventService } from '../audit/event-service.js'
import type { AuditEvent, EventOrigin } from '../audit/events.js'
import { isUuid } from '../gnap/wire.js'
import type { Db } from '../storage/db.js'
import {
  findAdminGrant,
  findGrantHistory,
  listGrants,
  type AdminGrant,
  type GrantHistory,
  type GrantListFilter,
  type GrantListPage
} from './grant-admin-store.js'
import { logGrantEvent } from './grant-events.js'
import {
  deleteAbandonedGrants,
  deleteFinishedGrants,
  lockGrant,
  revokeGrant
} from './grant-store.js'

/*
 * Grants as operators reach them, whatever the door (the admin GraphQL API, the console, the
 * CLI): listed, read whole and revoked. Input is checked, scope applied, the change made with
 * its audit event in one transaction and logged, here and only here; each door parses, calls
 * and renders.
 */

/** Whose grants a caller may see and revoke: one tenant's, or every tenant's. */
export type GrantScope = { tenantId: string } | 'all'

/** Who asks, and from where: decides scope and becomes the audit event's actor. */
export interface OperatorCall extends EventOrigin {
  /** Whose grants the caller may see and revoke: one tenant's, or all (the operator tenant, the CLI). */
  scope: GrantScope
  /** The request's logger (its lines carry the request id); the CLI passes its own. */
  log: Pick<Logger, 'info'>
}

/**
 * The scope of a signed-in tenant (an admin API signature, a console session): the operator
 * tenant (OPERATOR_TENANT_ID) sees every tenant's grants, any other tenant its own (Rafiki's
 * admin API rule).
 */
export const scopeOf = (caller: { tenantId: string; isOperator: boolean }): GrantScope =>
  caller.isOperator ? 'all' : { tenantId: caller.tenantId }

/** What to search for; `tenantId` narrows an 'all' scope and is ignored in a tenant's. */
export type GrantSearch = GrantListFilter

/** Rafiki's largest page (its admin API's `first` and `last`). */
export const MAX_GRANTS_PAGE = 100

/** Why a search was refused: the argument and the rule it broke. */
export type GrantSearchProblem =
  | { field: 'tenantId' | 'after' | 'before'; rule: 'uuid' }
  | { field: 'size'; rule: 'range'; max: number }

/** A search this service refuses; the door words `problem` (GraphQL's BAD_USER_INPUT, …). */
export class GrantSearchError extends Error {
  constructor(readonly problem: GrantSearchProblem) {
    super(`${problem.field}: ${problem.rule}`)
    this.name = 'GrantSearchError'
  }
}

/** One page of grants, and whether more lie on either side (Relay's pageInfo). */
export interface GrantPage {
  rows: AdminGrant[]
  hasNextPage: boolean
  hasPreviousPage: boolean
}

/** One grant as an operator reads it: itself, its interactions and tokens, its audit trail. */
export interface GrantRecord {
  grant: AdminGrant
  history: GrantHistory
  /** The grant's audit events, oldest first. */
  events: AuditEvent[]
}

/** The grant an operator revoked. */
export interface OperatorRevocation {
  /** As stored (lower case), whatever case the caller wrote. */
  grantId: string
  tenantId: string
  /** The client's wallet address (null for a directed-identity client, known by its key). */
  client: string | null
  /** It was revoked before (by its client or an operator): this call changed nothing. */
  alreadyRevoked: boolean
}

export interface GrantOperationsDeps {
  db: Db
  /** A revocation's event is written in its transaction; a grant's trail is read with it. */
  events: Pick<EventService, 'record' | 'ofGrant'>
}

const checkUuid = (field: 'tenantId' | 'after' | 'before', value: string | undefined) => {
  if (value !== undefined && !isUuid(value)) throw new GrantSearchError({ field, rule: 'uuid' })
}

const checkSize = (size: number) => {
  if (!Number.isInteger(size) || size < 1 || size > MAX_GRANTS_PAGE) {
    throw new GrantSearchError({ field: 'size', rule: 'range', max: MAX_GRANTS_PAGE })
  }
}

export function createGrantOperations(deps: GrantOperationsDeps) {
  const { db, events } = deps

  /** The tenant whose grants a call reads, when it is one: the scope's, else the one named. */
  function tenantOf(call: OperatorCall, named: string | undefined): string | undefined {
    if (call.scope !== 'all') return call.scope.tenantId.toLowerCase()
    checkUuid('tenantId', named)
    return named?.toLowerCase()
  }

  /** The search as the store takes it: the tenant decided by the scope, nothing else. */
  function filterOf(call: OperatorCall, search: GrantSearch): GrantListFilter {
    const { tenantId: named, ...rest } = search
    const tenantId = tenantOf(call, named)
    return { ...rest, ...(tenantId === undefined ? {} : { tenantId }) }
  }

  /** The tenant a grant must belong to for this call to see it (none: any). */
  const scopedTenant = (call: OperatorCall) =>
    call.scope === 'all' ? undefined : call.scope.tenantId.toLowerCase()

  /** Whether any grant lies beyond `cursor` in that direction. */
  const anyBeyond = async (filter: GrantListFilter, page: Omit<GrantListPage, 'limit'>) =>
    (await listGrants(db, filter, { ...page, limit: 1 }, { contents: false })).length > 0

  /**
   * One page of grants (the admin API's Relay paging, the console's): `size` rows after the
   * `after` cursor, else before the `before` cursor, else from the start, in `order`; and
   * whether more lie on either side. One row more than asked says whether more lie in the
   * page's own direction; the other side is asked only when there is a cursor (nothing
   * precedes the very start).
   */
  async function page(
    call: OperatorCall,
    search: GrantSearch,
    request: {
      order: 'ASC' | 'DESC'
      after?: string | undefined
      before?: string | undefined
      size: number
    }
  ): Promise<GrantPage> {
    const { order, size } = request
    checkUuid('after', request.after)
    checkUuid('before', request.before)
    const filter = filterOf(call, search)
    checkSize(size)
    const backwards = request.after === undefined && request.before !== undefined
    const cursor = backwards ? request.before : request.after
    const direction = backwards ? 'before' : 'after'
    const read = await listGrants(db, filter, { order, direction, cursor, limit: size + 1 })
    const more = read.length > size
    const rows = more ? (backwards ? read.slice(1) : read.slice(0, size)) : read
    if (rows.length === 0) return { rows, hasNextPage: false, hasPreviousPage: false }
    const first = rows[0]!.id
    const last = rows[rows.length - 1]!.id
    return {
      rows,
      hasNextPage: backwards
        ? await anyBeyond(filter, { order, direction: 'after', cursor: last })
        : more,
      hasPreviousPage: backwards
        ? more
        : cursor !== undefined &&
          (await anyBeyond(filter, { order, direction: 'before', cursor: first }))
    }
  }

  /** Up to `limit` grants after the `after` cursor, newest first (the CLI's listing). */
  async function list(
    call: OperatorCall,
    search: GrantSearch,
    request: { limit: number; after?: string | undefined }
  ): Promise<AdminGrant[]> {
    const { limit, after } = request
    checkUuid('after', after)
    const filter = filterOf(call, search)
    checkSize(limit)
    return listGrants(db, filter, {
      order: 'DESC',
      direction: 'after',
      limit,
      ...(after === undefined ? {} : { cursor: after })
    })
  }

  /** One grant alone (the admin API's `grant`, a confirmation page); undefined as for `read`. */
  async function find(call: OperatorCall, grantId: string): Promise<AdminGrant | undefined> {
    return isUuid(grantId) ? findAdminGrant(db, grantId, scopedTenant(call)) : undefined
  }

  /**
   * One grant, its history (ids and times, never a token or handle) and its audit trail;
   * undefined for a malformed id, an unknown grant or another tenant's (the same answer, so a
   * tenant learns nothing of grants outside its scope).
   */
  async function read(call: OperatorCall, grantId: string): Promise<GrantRecord | undefined> {
    if (!isUuid(grantId)) return undefined
    const tenantId = scopedTenant(call)
    const [grant, history] = await Promise.all([
      findAdminGrant(db, grantId, tenantId),
      findGrantHistory(db, grantId, tenantId)
    ])
    if (!grant || !history) return undefined
    return { grant, history, events: await events.ofGrant(grant.id) }
  }

  /**
   * An operator revokes a grant: the effect of the client's DELETE /continue (RFC 9635 §5.4),
   * whatever the grant's state, in one transaction with its `grant.revoked` event (the call's
   * actor), and one log line. Once: a grant revoked before changes nothing, writes and logs
   * nothing, and is answered the same (`alreadyRevoked`). Undefined for a malformed id, an
   * unknown grant or one outside the call's scope.
   */
  async function revoke(
    call: OperatorCall,
    grantId: string
  ): Promise<OperatorRevocation | undefined> {
    if (!isUuid(grantId)) return undefined
    const tenantId = scopedTenant(call)
    const { actor, requestId, remoteAddress } = call
    const revoked = await db.transaction(async (tx) => {
      // Locked first: revokeGrant must see a racing continuation's or rotation's new token.
      const grant = await lockGrant(tx, grantId)
      if (!grant || (tenantId !== undefined && grant.tenantId !== tenantId)) return undefined
      const revokedNow = await revokeGrant(tx, grant.id)
      if (revokedNow) {
        await events.record(tx, {
          actor,
          ...(requestId === undefined ? {} : { requestId }),
          ...(remoteAddress === undefined ? {} : { remoteAddress }),
          type: 'grant.revoked',
          tenantId: grant.tenantId,
          grantId: grant.id,
          client: grant.client
        })
      }
      return {
        grantId: grant.id,
        tenantId: grant.tenantId,
        client: grant.client,
        alreadyRevoked: !revokedNow
      }
    })
    // Logged after the commit: a line never tells of a revocation that was rolled back.
    if (revoked && !revoked.alreadyRevoked) logGrantEvent(call.log, 'revoked', revoked, actor.kind)
    return revoked
  }

  return {
    page,
    list,
    find,
    read,
    revoke,
    /** Retention: deletes up to `limit` grants finished over `olderThanS` s ago, tokens gone. */
    purgeFinished: (limit: number, olderThanS: number) =>
      deleteFinishedGrants(db, limit, olderThanS),
    /** Retention: deletes up to `limit` grants created over `olderThanS` s ago, never finished. */
    purgeAbandoned: (limit: number, olderThanS: number) =>
      deleteAbandonedGrants(db, limit, olderThanS)
  }
}

export type GrantOperations = ReturnType<typeof createGrantOperations>
/** What operators read of grants (for callers that may not import a store: src/http). */
export type { AdminGrant, GrantHistory } from './grant-admin-store.js'
