import { LRUCache } from 'lru-cache'
import type { AccessItem } from '../gnap/access.js'
import { toAccessWire } from '../gnap/access.js'
import { storedClient, type ClientIdentity } from '../gnap/client-identity.js'
import { invalidClient, invalidRotation } from '../gnap/gnap-error.js'
import type { IntrospectionRequest, Jwk } from '../gnap/request-schemas.js'
import { bytesEqual } from '../gnap/secrets.js'
import { accessTokenWire, isUuid, type AccessTokenWire } from '../gnap/wire.js'
import { replayed, type Replay, type Replayed } from '../replay/replay-guard.js'
import type { Db, Queryable } from '../storage/db.js'
import { clientAsActor, type EventOrigin } from '../audit/events.js'
import type { EventOfChange } from '../audit/event-store.js'
import { matchAccess } from './access-match.js'
import {
  deleteSpentTokens,
  findActiveToken,
  findManagedToken,
  insertToken,
  revokeToken,
  rotateToken,
  type NewToken
} from './token-store.js'
import { generateTokenValue, hashToken } from './token-value.js'

export interface TokenServiceDeps {
  db: Db
  config: { authServerUrl: string; accessTokenExpirySeconds: number }
  randomBytes: (size: number) => Buffer
  /** Time-ordered UUIDs (v7) for row ids, index-friendly (migration 002). */
  newId: () => string
}

/**
 * Token introspection response: Rafiki's fields (token-introspection.yaml) and, beside them,
 * RFC 9767 §3.3's. An inactive token is `{ active: false }` alone (§3.3: other fields omitted).
 */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true
      grant: string
      access: AccessItem[]
      client: { walletAddress: string } | { jwk: Jwk }
      /** The grant endpoint URL that issued the token (RFC 9767 §3.3, REQUIRED). */
      iss: string
      /** Issued at and expiry, in seconds since the epoch. */
      iat: number
      exp: number
      /**
       * The key the token is bound to (RFC 9635 §7.1): every Open Payments token is bound, so
       * this is left out only for a grant that never recorded its key (made before migration
       * 015, or imported from Rafiki).
       */
      key?: { proof: 'httpsig'; jwk: Jwk }
      /** No flag applies: no token is a bearer token, and none outlives its rotation (§3.2.1). */
      flags: string[]
    }

/** A token under management, authenticated by its value: what rotation and revocation act on. */
export interface ManagedToken {
  managementId: string
  valueHash: Uint8Array
  grantId: string
  /** The grant's tenant (for its figures). */
  tenantId: string
  /** The grant's client: the management request must be signed by it. */
  client: ClientIdentity
  /**
   * Known to this process (it issued or rotated the token), not read: a write that then finds
   * the token no longer live must ask the database why (see `known` below).
   */
  known?: true
}

/** A token this process issued, as token management will need it. */
export type IssuedToken = Omit<ManagedToken, 'known'>

/**
 * Tokens this process issued or rotated, kept by management id (a few hundred bytes each): rotating or
 * revoking one of them skips the read that authenticates it, one database round trip of the two
 * (issue 29). Only what never changes of a token is kept (its value's hash, its grant, tenant
 * and client), so an entry cannot say more than the database: the writing statement still
 * requires the token live, presented with its value, and its grant not revoked, and when it
 * finds otherwise (another process rotated or revoked it, or the grant was revoked) the read is
 * made after all, so the client gets the answer it would have had without the entry.
 */
const KNOWN_TOKENS = 10_000

/** A token's change made by its grant's client (rotation, revocation), for the audit trail. */
const clientEvent = (
  type: 'token.rotated' | 'token.revoked',
  managed: ManagedToken,
  from: Omit<EventOrigin, 'actor'>
): EventOfChange => ({
  ...from,
  type,
  ...clientAsActor(managed.client)
})

export function createTokenService(deps: TokenServiceDeps) {
  const { db, config } = deps
  const known = new LRUCache<string, IssuedToken>({ max: KNOWN_TOKENS })

  /** A new access token: its value, for the client, and what is stored of it. */
  function newToken(): NewToken & { value: string } {
    const value = generateTokenValue(deps.randomBytes)
    return {
      value,
      valueHash: hashToken(value),
      managementId: deps.newId(),
      expiresIn: config.accessTokenExpirySeconds
    }
  }

  /**
   * RFC 9635 §6: the token being managed, found by its management id and authenticated by its
   * own value (compared by hash; Rafiki accepted any signed request, weakness §12.5). The caller
   * then checks the request is signed by the grant's client.
   */
  async function findManaged(managementId: string, token: string): Promise<ManagedToken> {
    const valueHash = hashToken(token)
    const issued = known.get(managementId)
    if (issued && bytesEqual(issued.valueHash, valueHash)) return { ...issued, known: true }
    const row = await readManaged(managementId, valueHash)
    return {
      managementId,
      valueHash: row.valueHash,
      grantId: row.grantId,
      tenantId: row.tenantId,
      client: storedClient(row)
    }
  }

  /**
   * RFC 9635 §6.1: a new value and a new management URI for the same access; the old token is
   * dead the moment this commits. The caller has authenticated the presented token;
   * `replayed` when the rotation found the request's signature recorded already (nothing done).
   */
  async function rotate(
    managed: ManagedToken,
    /** How the request is kept from being replayed: the rotation may record its signature. */
    replay: Replay,
    from: Omit<EventOrigin, 'actor'>
  ): Promise<{ access_token: AccessTokenWire } | Replayed> {
    const { value, ...next } = newToken()
    // Whatever the outcome, the old value is of no more use.
    known.delete(managed.managementId)
    const { claimed, access, label } = await rotateToken(
      db,
      managed,
      next,
      replay,
      clientEvent('token.rotated', managed, from)
    )
    if (!claimed) return replayed
    if (!access) {
      await stillManaged(managed)
      // Another rotation or a revocation won the race after authentication.
      throw invalidRotation('invalid access token')
    }
    const { managementId, valueHash } = next
    remember({ ...managed, managementId, valueHash })
    return {
      access_token: accessTokenWire(
        config.authServerUrl,
        { value, ...next },
        access.map(toAccessWire),
        // RFC 9635 §3.2.1: the token keeps the label its grant's request gave it.
        label
      )
    }
  }

  /** RFC 9635 §6.2: idempotent; a token already gone is as revoked as it gets. */
  async function revoke(managed: ManagedToken, from: Omit<EventOrigin, 'actor'>): Promise<void> {
    known.delete(managed.managementId)
    if (!(await revokeToken(db, managed, clientEvent('token.revoked', managed, from)))) {
      await stillManaged(managed)
    }
  }

  /**
   * A token taken from `known` that the write found no longer live: refused as the read would
   * have refused it (gone, revoked or rotated: invalid_client), else it was a race.
   */
  async function stillManaged(managed: ManagedToken): Promise<void> {
    if (managed.known) await readManaged(managed.managementId, managed.valueHash)
  }

  /** The unrevoked token of this management id whose value hashes to `valueHash`, or 401. */
  async function readManaged(managementId: string, valueHash: Uint8Array) {
    const row = isUuid(managementId) ? await findManagedToken(db, managementId) : undefined
    if (!row || !bytesEqual(row.valueHash, valueHash)) throw invalidClient('invalid access token')
    return row
  }

  /** Keeps a token issued or rotated here, once its statement has committed. */
  function remember(token: IssuedToken): void {
    const { managementId, valueHash, grantId, tenantId, client } = token
    known.set(managementId, { managementId, valueHash, grantId, tenantId, client })
  }

  /**
   * Answers a resource server: is the token active, and what of the requested access does it
   * grant; with the tenant of an active token, for its figures (not part of the answer).
   */
  async function introspect(
    request: IntrospectionRequest
  ): Promise<{ response: IntrospectionResponse; tenantId?: string }> {
    // RFC 9767 §3.3: a token bound with another proofing method than the resource server saw
    // is not active; every opas token is bound by HTTP message signatures.
    if (request.proof !== undefined && request.proof !== 'httpsig') {
      return { response: { active: false } }
    }
    const token = await findActiveToken(db, hashToken(request.access_token))
    if (!token) return { response: { active: false } }
    const client =
      token.client !== null ? { walletAddress: token.client } : { jwk: token.jwk as Jwk }
    const granted = token.access.map(toAccessWire)
    const iat = Math.floor(token.createdAt)
    // The key the token is bound to: a directed-identity client's own JWK.
    const boundKey = token.clientKey ?? token.jwk
    return {
      response: {
        active: true,
        grant: token.grantId,
        access: request.access ? matchAccess(request.access as AccessItem[], granted) : [],
        client,
        iss: token.grantUri,
        iat,
        // The database's own rule: live while created_at + expires_in is not past (liveTokenSql).
        exp: Math.floor(token.createdAt + token.expiresIn),
        ...(boundKey && { key: { proof: 'httpsig' as const, jwk: boundKey } }),
        flags: []
      },
      tenantId: token.tenantId
    }
  }

  return {
    newToken,
    findManaged,
    remember,
    /** Stores a token of `grantId` within the caller's transaction (a grant issuing it). */
    insert: (q: Queryable, grantId: string, token: NewToken) => insertToken(q, grantId, token),
    rotate,
    revoke,
    introspect,
    /** Retention: deletes up to `limit` tokens expired or revoked over `olderThanS` seconds ago. */
    purgeSpent: (limit: number, olderThanS: number) => deleteSpentTokens(db, limit, olderThanS)
  }
}

export type TokenService = ReturnType<typeof createTokenService>
