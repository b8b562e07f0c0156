import { GraphQLError, Kind, type ValueNode } from 'graphql'
import type { Logger } from 'pino'
import type { FinalizationReason, GrantState } from '../gnap/grant-states.js'
import {
  GrantSearchError,
  scopeOf,
  type AdminGrant,
  type GrantOperations,
  type GrantSearch,
  type GrantSearchProblem,
  type OperatorCall
} from '../grant/grant-operations.js'

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

/** Rafiki's page size when none is asked (0 counts as unasked, as in Rafiki). */
const DEFAULT_PAGE = 20

const pageSize = (value: number | null | undefined): number =>
  value === null || value === undefined || value === 0 ? DEFAULT_PAGE : value

/** The grant service's refusal of a search, in the admin API's words. */
function searchRefused(problem: GrantSearchProblem, sizeName: 'first' | 'last'): GraphQLError {
  switch (problem.field) {
    case 'size':
      return adminError(`${sizeName} must be between 0 and ${problem.max}`, 'BAD_USER_INPUT')
    case 'tenantId':
      return adminError('tenantId is not a tenant id', 'BAD_USER_INPUT')
    case 'after':
    case 'before':
      return adminError(`${problem.field} is not a grant id`, 'BAD_USER_INPUT')
  }
}

/** Who asks, as the grant service takes it: its scope and the audit event's actor. */
const callOf = (ctx: AdminContext): OperatorCall => ({
  actor: { kind: 'admin-api', tenantId: ctx.tenantId },
  requestId: ctx.requestId,
  remoteAddress: ctx.remoteAddress,
  scope: scopeOf(ctx),
  log: ctx.log
})

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
 * The admin API's resolvers (Rafiki's graphql/resolvers/grant.ts), over the grant service,
 * which decides scope (a tenant sees and revokes only its own grants whatever it passes; the
 * operator all, or one tenant's with `tenantId`), checks the search and writes and logs a
 * revocation. Any unknown, foreign or malformed grant id is NOT_FOUND, never an internal error.
 */
export function createGrantResolvers(grants: GrantOperations) {
  async function grantsPage(_: unknown, args: GrantsArgs, ctx: AdminContext) {
    if (args.last !== null && args.last !== undefined && !args.before) {
      throw adminError(
        'last needs before: paging backwards from the start is not possible',
        'BAD_USER_INPUT'
      )
    }
    const after = args.after ?? undefined
    const before = args.before ?? undefined
    const f = args.filter ?? {}
    const search: GrantSearch = {
      ...(args.tenantId ? { tenantId: args.tenantId } : {}),
      ...(f.identifier?.in ? { identifiers: f.identifier.in } : {}),
      ...(f.state?.in ? { stateIn: f.state.in } : {}),
      ...(f.state?.notIn ? { stateNotIn: f.state.notIn } : {}),
      ...(f.finalizationReason?.in ? { reasonIn: f.finalizationReason.in } : {}),
      ...(f.finalizationReason?.notIn ? { reasonNotIn: f.finalizationReason.notIn } : {})
    }
    // Rafiki's precedence: after, then before, then the start.
    const backwards = after === undefined && before !== undefined
    const sizeName = backwards ? 'last' : 'first'
    const page = await grants
      .page(callOf(ctx), search, {
        order: args.sortOrder ?? 'DESC',
        after,
        before,
        size: pageSize(args[sizeName])
      })
      .catch((err: unknown) => {
        throw err instanceof GrantSearchError ? searchRefused(err.problem, sizeName) : err
      })
    const { rows, hasNextPage, hasPreviousPage } = page
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
        const grant = await grants.find(callOf(ctx), args.id)
        if (!grant) throw adminError('No grant', 'NOT_FOUND')
        return toGraphql(grant)
      }
    },
    Mutation: {
      async revokeGrant(_: unknown, args: { input: { grantId: string } }, ctx: AdminContext) {
        const { grantId } = args.input
        if (!grantId) throw adminError('Grant id is not provided', 'FORBIDDEN')
        // Revoked once, with its event and its log line (a grant revoked before: the same answer).
        if (!(await grants.revoke(callOf(ctx), grantId))) {
          throw adminError('Revoke grant was not successful', 'NOT_FOUND')
        }
        return { id: grantId }
      }
    }
  }
}
