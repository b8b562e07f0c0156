import type { KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { ClientKeyError, publicJwk, type ClientKeys } from '../client-keys/index.js'
import type { ResourceServerEntry } from '../config/index.js'
import { invalidResourceServer } from '../gnap/gnap-error.js'
import { SignatureError, verifyMessage } from '../http-signatures/index.js'
import { signatureDescriptions } from './error-handler.js'

export interface ResourceServerVerifierDeps {
  /** The resource servers' keys, fetched from the JWKS URLs the operator listed. */
  keys: Pick<ClientKeys, 'getKeyAt'>
  config: {
    introspectionUrl: string
    signatureMaxAgeSeconds: number
    introspectionResourceServers: readonly ResourceServerEntry[]
  }
  now: () => number
}

/** How a resource server named itself: by reference (a listed name) or by value (its key). */
type Named = { name: string } | { kid: string; x: string }

function namedIn(body: unknown): Named | undefined {
  const given = (body as { resource_server?: unknown } | undefined)?.resource_server
  if (typeof given === 'string') return { name: given }
  // The schema admits only { key: { proof: 'httpsig', jwk } } as the object form.
  const jwk = (given as { key?: { jwk?: { kid: string; x: string } } } | undefined)?.key?.jwk
  return jwk && { kid: jwk.kid, x: jwk.x }
}

/**
 * RFC 9767 §3.2: a resource server proves who it is by signing its call to the AS (RFC 9635
 * §7.3.1, HTTP message signatures, as clients sign) with a key the AS knows. §3.2 leaves how
 * the AS comes to know it open; here the operator lists each resource server by name with the
 * URL of its JWKS (INTROSPECTION_RESOURCE_SERVERS). It names itself in `resource_server` by
 * reference (its name) or by value (`{ key: { proof: 'httpsig', jwk } }`, which must be a key of
 * a listed server, and the key that signed).
 *
 * A signed introspection is not recorded against replay: it changes nothing, and a replay within
 * the freshness window answers only what the token's holder and the resource server know.
 * Returns the resource server's name; any refusal is 401 `invalid_resource_server` (§3.5).
 */
export function createResourceServerVerifier(deps: ResourceServerVerifierDeps) {
  const { keys, config } = deps
  const listed = config.introspectionResourceServers
  const byName = new Map(listed.map((rs) => [rs.name, rs]))

  // By value: the listed server whose JWKS holds this very key (kid and public key alike).
  async function keyOfListed(kid: string, x: string) {
    for (const rs of listed) {
      const key = await keys.getKeyAt(rs.jwksUrl, kid).catch(() => undefined)
      if (key && publicJwk(key, kid).x === x) return { rs, key }
    }
    throw invalidResourceServer('resource_server names a key of no known resource server')
  }

  return async function verifyResourceServer(req: FastifyRequest): Promise<string> {
    const named = namedIn(req.body)
    if (named === undefined) {
      throw invalidResourceServer(
        'resource_server is required: the name this resource server is known by, or its key'
      )
    }
    let rs = 'name' in named ? byName.get(named.name) : undefined
    if ('name' in named && rs === undefined) throw invalidResourceServer('unknown resource server')
    // Keys are fetched only once the signature's own checks passed (verifyMessage).
    const lookupKey = async (keyid: string): Promise<KeyObject> => {
      if (rs !== undefined) return keys.getKeyAt(rs.jwksUrl, keyid)
      const byValue = named as { kid: string; x: string }
      if (keyid !== byValue.kid) {
        throw invalidResourceServer('the request is not signed with the key in resource_server')
      }
      const found = await keyOfListed(byValue.kid, byValue.x)
      rs = found.rs
      return found.key
    }
    try {
      await verifyMessage(
        {
          method: req.method,
          targetUri: config.introspectionUrl + req.url,
          headers: req.headers,
          body: req.rawBody
        },
        lookupKey,
        { now: Math.floor(deps.now() / 1000), maxAgeSeconds: config.signatureMaxAgeSeconds }
      )
    } catch (err) {
      if (err instanceof SignatureError) {
        throw invalidResourceServer(signatureDescriptions[err.reason], 401, { cause: err })
      }
      if (err instanceof ClientKeyError) {
        const description =
          err.reason === 'unknown_key'
            ? 'the signing key is not in the resource server JWKS'
            : 'could not fetch the resource server JWKS'
        throw invalidResourceServer(description, 401, { cause: err })
      }
      throw err
    }
    return rs!.name
  }
}

export type VerifyResourceServer = ReturnType<typeof createResourceServerVerifier>
