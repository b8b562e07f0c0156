import { GraphQLError, Kind, type ValueNode } from 'graphql'
import type { Logger } from 'pino'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import { isUuid } from '../gnap/wire.js'
import type { AdminGrant, GrantListFilter } from '../grant/grant-admin-store.js'
import { logGrantEvent } from '../grant/grant-events.js'
import type { GrantService } from '../grant/grant-service.js'

/** Who is asking: the tenant whose API secret signed the request. */
export interface AdminContext {
  tenantId: string
  /** The operator tenant (OPERATOR_TENANT_ID) sees every tenant's grants. */
  isOperator: boolean
  /** The request's logger (its lines carry the request id). */
  log: Pick<Logger, 'info'>
  /** The request, for the audit trail: its id and the caller's address. */
  requestId: string
  remoteAddress: string
}

/** `extensions.code` of the errors a resolver raises (Rafiki's GraphQLErrorCode). */
type AdminErrorCode = 'BAD_USER_INPUT' | 'FORBIDDEN' | 'NOT_FOUND'

const adminError = (message: string, code: AdminErrorCode) =>
  new GraphQLError(message, { extensions: { code } })

/** Rafiki's page sizes: 20 unless asked, at most 100 (0 counts as unasked, as in Rafiki). */
const DEFAULT_PAGE = 20
const MAX_PAGE = 100

interface GrantsArgs {
  after?: string | null
  before?: string | null
  first?: number | null
  last?: number | null
  filter?: {
    identifier?: { in?: string[] | null } | null
    state?: { in?: GrantState[] | null; notIn?: GrantState[] | null } | null
    finalizationReason?: {
      in?: FinalizationReason[] | null
      notIn?: FinalizationReason[] | null
    } | null
  } | null
  sortOrder?: 'ASC' | 'DESC' | null
  tenantId?: string | null
}

function pageSize(value: number | null | undefined, name: string): number {
  if (value === null || value === undefined || value === 0) return DEFAULT_PAGE
  if (value < 0 || value > MAX_PAGE) {
    throw adminError(`${name} must be between 0 and ${MAX_PAGE}`, 'BAD_USER_INPUT')
  }
  return value
}

function cursorOf(value: string | null | undefined, name: string): string | undefined {
  if (value === null || value === undefined) return undefined
  if (!isUuid(value)) throw adminError(`${name} is not a grant id`, 'BAD_USER_INPUT')
  return value
}

const toGraphql = (grant: AdminGrant) => ({
  id: grant.id,
  client: grant.client,
  state: grant.state,
  finalizationReason: grant.finalizationReason,
  createdAt: grant.createdAt.toISOString(),
  tenantId: grant.tenantId,
  access: grant.access.map((a) => ({ ...a, createdAt: new Date(a.createdAt).toISOString() })),
  subject: grant.subIds.length
    ? {
        sub_ids: grant.subIds.map((s) => ({ ...s, createdAt: new Date(s.createdAt).toISOString() }))
      }
    : null
})

/**
 * An unsigned integer scalar of `bits` bits. UInt64 is a JSON string on the wire, as Rafiki's
 * BigInt.toJSON writes it (it may exceed 2^53); UInt8 a number. Given as plain functions, they
 * are merged into the schema's scalar, which keeps its description.
 */
function unsignedScalar(name: string, bits: 8 | 64) {
  const max = 2n ** BigInt(bits) - 1n
  const coerce = (value: unknown): string | number => {
    const text = typeof value === 'bigint' ? value.toString() : String(value)
    const n = /^\d{1,20}$/.test(text) ? BigInt(text) : undefined
    if (n === undefined || n > max) {
      throw new GraphQLError(`${name} cannot represent ${JSON.stringify(value)}`)
    }
    return bits === 64 ? n.toString() : Number(n)
  }
  return {
    serialize: coerce,
    parseValue: coerce,
    parseLiteral: (ast: ValueNode) => {
      if (ast.kind !== Kind.INT && ast.kind !== Kind.STRING) {
        throw new GraphQLError(`${name} needs an integer`)
      }
      return coerce(ast.value)
    }
  }
}

/**
 * The admin API's resolvers (Rafiki's graphql/resolvers/grant.ts): a tenant sees and revokes
 * only its own grants whatever it passes; the operator sees all, or one tenant's with
 * `tenantId`. Any unknown, foreign or malformed grant id is NOT_FOUND, never an internal error.
 */
/** The tenant whose grants a caller may read and revoke: its own; the operator's are all. */
const scopeOf = (ctx: AdminContext): string | undefined =>
  ctx.isOperator ? undefined : ctx.tenantId

export function createGrantResolvers(grants: GrantService) {
  async function grantsPage(_: unknown, args: GrantsArgs, ctx: AdminContext) {
    const order = args.sortOrder ?? 'DESC'
    if (args.last !== null && args.last !== undefined && !args.before) {
      throw adminError(
        'last needs before: paging backwards from the start is not possible',
        'BAD_USER_INPUT'
      )
    }
    const after = cursorOf(args.after, 'after')
    const before = cursorOf(args.before, 'before')
    // A tenant sees its own grants whatever it passes; the operator all, or the one it names.
    let tenantId: string | undefined = ctx.tenantId
    if (ctx.isOperator) {
      if (args.tenantId && !isUuid(args.tenantId)) {
        throw adminError('tenantId is not a tenant id', 'BAD_USER_INPUT')
      }
      tenantId = args.tenantId || undefined
    }
    const f = args.filter ?? {}
    const filter: GrantListFilter = {
      ...(tenantId ? { tenantId } : {}),
      ...(f.identifier?.in ? { identifiers: f.identifier.in } : {}),
      ...(f.state?.in ? { stateIn: f.state.in } : {}),
      ...(f.state?.notIn ? { stateNotIn: f.state.notIn } : {}),
      ...(f.finalizationReason?.in ? { reasonIn: f.finalizationReason.in } : {}),
      ...(f.finalizationReason?.notIn ? { reasonNotIn: f.finalizationReason.notIn } : {})
    }
    // Rafiki's precedence: after, then before, then the start.
    const backwards = after === undefined && before !== undefined
    const size = backwards ? pageSize(args.last, 'last') : pageSize(args.first, 'first')
    const { rows, hasNextPage, hasPreviousPage } = await grants.admin.page(filter, {
      order,
      after,
      before,
      size
    })
    return {
      edges: rows.map((row) => ({ cursor: row.id, node: toGraphql(row) })),
      pageInfo: {
        hasNextPage,
        hasPreviousPage,
        startCursor: rows[0]?.id ?? null,
        endCursor: rows.at(-1)?.id ?? null
      }
    }
  }

  return {
    UInt8: unsignedScalar('UInt8', 8),
    UInt64: unsignedScalar('UInt64', 64),
    Query: {
      grants: grantsPage,
      async grant(_: unknown, args: { id: string }, ctx: AdminContext) {
        const grant = await grants.admin.find(args.id, scopeOf(ctx))
        if (!grant) throw adminError('No grant', 'NOT_FOUND')
        return toGraphql(grant)
      }
    },
    Mutation: {
      async revokeGrant(_: unknown, args: { input: { grantId: string } }, ctx: AdminContext) {
        const { grantId } = args.input
        if (!grantId) throw adminError('Grant id is not provided', 'FORBIDDEN')
        const revoked = await grants.admin.revoke(grantId, scopeOf(ctx), {
          actor: { kind: 'admin-api', tenantId: ctx.tenantId },
          requestId: ctx.requestId,
          remoteAddress: ctx.remoteAddress
        })
        if (!revoked) throw adminError('Revoke grant was not successful', 'NOT_FOUND')
        // The lifecycle line the client's own cancel logs, saying who revoked it; once, not
        // again for a grant revoked before (the answer is the same).
        if (!revoked.alreadyRevoked) logGrantEvent(ctx.log, 'revoked', revoked, 'admin-api')
        return { id: grantId }
      }
    }
  }
}
