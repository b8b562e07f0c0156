import { createHmac } from 'node:crypto'
import {
  ApolloClient,
  ApolloLink,
  HttpLink,
  InMemoryCache,
  type DocumentNode
} from '@apollo/client/core/index.js'
import { setContext } from '@apollo/client/link/context/index.js'
import { print } from 'graphql'
import { canonicalize } from 'json-canonicalize'

/**
 * The admin API's client as Rafiki's admin tools build it (localenv/mock-account-servicing-entity
 * app/lib/apolloClient.ts, packages/frontend app/lib/apollo.server.ts): Apollo Client over HTTP,
 * each request signed `t=<ms>, v<version>=<hex>` with HMAC-SHA256 over
 * `<t>.<JCS of {variables, operationName, query}>`, while Apollo's own HttpLink serialises the
 * body in another key order: the server must verify the parsed body, not the bytes.
 */
export function adminClient(options: {
  graphqlUrl: string
  tenantId: string
  apiSecret: string
  version?: number
  /** The signing time (ms); the real clock unless a test needs another. */
  now?: () => number
}) {
  const authLink = setContext((request, { headers }) => {
    const timestamp = (options.now ?? Date.now)()
    const formattedRequest = {
      variables: request.variables,
      operationName: request.operationName,
      query: print(request.query)
    }
    const digest = createHmac('sha256', options.apiSecret)
      .update(`${timestamp}.${canonicalize(formattedRequest)}`)
      .digest('hex')
    return {
      headers: {
        ...headers,
        signature: `t=${timestamp}, v${options.version ?? 1}=${digest}`,
        'tenant-id': options.tenantId
      }
    }
  })
  const client = new ApolloClient({
    cache: new InMemoryCache({}),
    link: ApolloLink.from([authLink, new HttpLink({ uri: options.graphqlUrl })]),
    defaultOptions: {
      query: { fetchPolicy: 'no-cache', errorPolicy: 'all' },
      mutate: { fetchPolicy: 'no-cache', errorPolicy: 'all' }
    }
  })
  return {
    query: <T>(query: DocumentNode, variables: Record<string, unknown> = {}) =>
      client.query<T>({ query, variables }),
    mutate: <T>(mutation: DocumentNode, variables: Record<string, unknown> = {}) =>
      client.mutate<T>({ mutation, variables })
  }
}

/** A signed POST of exactly `raw` (the body as bytes) with the digest of `signedBody`. */
export function signedAdminPost(
  graphqlUrl: string,
  auth: { tenantId: string; apiSecret: string; timestamp?: number; version?: number },
  signedBody: unknown,
  raw = JSON.stringify(signedBody)
) {
  const t = auth.timestamp ?? Date.now()
  const digest = createHmac('sha256', auth.apiSecret)
    .update(`${t}.${canonicalize(signedBody)}`)
    .digest('hex')
  return fetch(graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'tenant-id': auth.tenantId,
      signature: `t=${t}, v${auth.version ?? 1}=${digest}`
    },
    body: raw
  })
}

/** A signed admin API call, as a tenant's admin tools make it: its status and JSON answer. */
export async function adminCall(
  graphqlUrl: string,
  tenant: { id: string; apiSecret: string },
  body: object
): Promise<{ status: number; body: unknown }> {
  const res = await signedAdminPost(
    graphqlUrl,
    { tenantId: tenant.id, apiSecret: tenant.apiSecret },
    body
  )
  return { status: res.status, body: (await res.json()) as unknown }
}
