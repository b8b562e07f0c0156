import { makeExecutableSchema } from '@graphql-tools/schema'
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit'
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth'
import {
  execute,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ValidationRule
} from 'graphql'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import type { GrantOperations } from '../grant/grant-operations.js'
import { adminSchema } from './admin-schema.js'
import { createGrantResolvers, type AdminContext } from './grant-resolvers.js'

/** A GraphQL request body (GraphQL over HTTP): the query, its variables, the operation. */
interface GraphqlRequest {
  query: string
  variables?: Record<string, unknown> | null
  operationName?: string | null
}

/** The HTTP answer: the status and the GraphQL response (`data` and/or `errors`). */
interface GraphqlAnswer {
  status: number
  body: { data?: unknown; errors?: ReturnType<GraphQLError['toJSON']>[] }
}

const codeOf = (error: GraphQLError) => error.extensions?.code

/**
 * The admin GraphQL API: Rafiki's schema and resolvers, run by graphql-js. Depth and cost are
 * limited as Rafiki limits them (graphql-armor: depth 10, cost 5000), introspection is off in
 * production, and every error carries `extensions.code`: GRAPHQL_PARSE_FAILED and
 * GRAPHQL_VALIDATION_FAILED (400), BAD_USER_INPUT for variables that do not fit (400), the
 * resolvers' NOT_FOUND, FORBIDDEN and BAD_USER_INPUT, and INTERNAL_SERVER_ERROR, whose
 * message never carries the cause (it is logged).
 */
export function createGraphqlApi(deps: {
  grants: GrantOperations
  production: boolean
  logger: Pick<Logger, 'error'>
}) {
  const schema = makeExecutableSchema({
    typeDefs: adminSchema,
    resolvers: createGrantResolvers(deps.grants)
  })
  const rules: ValidationRule[] = [
    ...specifiedRules,
    maxDepthRule({ n: 10 }),
    costLimitRule({ maxCost: 5000, objectCost: 2, scalarCost: 1, depthCostFactor: 1.5 }),
    ...(deps.production ? [NoSchemaIntrospectionCustomRule] : [])
  ]
  // Admin tools send the same few queries again and again: parse and validate each once.
  const documents = new LRUCache<string, DocumentNode | readonly GraphQLError[]>({ max: 500 })

  function documentOf(query: string): DocumentNode | readonly GraphQLError[] {
    const cached = documents.get(query)
    if (cached) return cached
    let document: DocumentNode | readonly GraphQLError[]
    try {
      document = parse(query, { maxTokens: 10_000 })
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err
      document = withCode([err], 'GRAPHQL_PARSE_FAILED')
    }
    if ('kind' in document) {
      let errors: readonly GraphQLError[]
      try {
        errors = validate(schema, document, rules)
      } catch (err) {
        // graphql-armor's rules throw the limit they found exceeded.
        if (!(err instanceof GraphQLError)) throw err
        errors = [err]
      }
      if (errors.length > 0) document = withCode(errors, 'GRAPHQL_VALIDATION_FAILED')
    }
    documents.set(query, document)
    return document
  }

  return {
    async run(request: GraphqlRequest, context: AdminContext): Promise<GraphqlAnswer> {
      const document = documentOf(request.query)
      if (!('kind' in document))
        return { status: 400, body: { errors: document.map((e) => e.toJSON()) } }
      const result = await execute({
        schema,
        document,
        contextValue: context,
        variableValues: request.variables ?? undefined,
        operationName: request.operationName ?? undefined
      })
      // No data at all: the operation could not start (variables that do not fit its types).
      if (result.data === undefined && result.errors) {
        return {
          status: 400,
          body: { errors: withCode(result.errors, 'BAD_USER_INPUT').map((e) => e.toJSON()) }
        }
      }
      const errors = result.errors?.map((error) => {
        if (codeOf(error)) return error.toJSON()
        deps.logger.error(
          { err: error.originalError ?? error, path: error.path },
          'admin API error'
        )
        return new GraphQLError('internal server error', {
          path: error.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR' }
        }).toJSON()
      })
      return { status: 200, body: { data: result.data, ...(errors ? { errors } : {}) } }
    }
  }
}

/** The errors, each with `extensions.code` (keeping one already set). */
function withCode(errors: readonly GraphQLError[], code: string): GraphQLError[] {
  return errors.map((e) =>
    codeOf(e)
      ? e
      : new GraphQLError(e.message, {
          nodes: e.nodes ?? null,
          source: e.source ?? null,
          positions: e.positions ?? null,
          path: e.path ?? null,
          extensions: { ...e.extensions, code }
        })
  )
}

export type GraphqlApi = ReturnType<typeof createGraphqlApi>
