import { accessTypes } from '../gnap/access.js'
import { normalizeWalletAddress } from '../gnap/client-identity.js'
import {
  finalizationReasons,
  grantStates,
  type FinalizationReason,
  type GrantState
} from '../gnap/grant-states.js'
import type { Jwk } from '../gnap/request-schemas.js'
import { hashSecret } from '../gnap/secrets.js'
import { isUuid } from '../gnap/wire.js'
import { interactionStates, type InteractionState } from '../interaction/interaction-lifecycle.js'
import { MIN_SECRET_LENGTH } from '../tenant/tenant-rules.js'
import { hashToken } from '../token/token-value.js'

/**
 * Rafiki's rows, as `opas import rafiki` reads them (issue 25), and the opas rows they become.
 * Pure: the tenant-secret sealing comes in as a function. Every identifier a client holds in a
 * URL is kept (grant, continueId, managementId, interaction id), so the URLs stay valid; every
 * token and secret Rafiki kept in plain text becomes what opas keeps (a SHA-256 hash, or the
 * tenant API secret sealed), so no usable value reaches opas's database. A row that cannot be
 * carried over faithfully is skipped with its reason, never guessed at; a row carried over with
 * a change the operator should know of carries a note.
 */

export type RafikiTable =
  'tenants' | 'grants' | 'accesses' | 'subjects' | 'accessTokens' | 'interactions'

/** A row left behind, and why: the closing report lists each. */
export interface Skipped {
  table: RafikiTable
  id: string
  reason: string
}

/** What became of one row: the opas row (with notes), or why it was skipped. */
export type Mapped<T> = { row: T; notes: string[] } | { skipped: Skipped }

const skip = (table: RafikiTable, id: string, reason: string) => ({
  skipped: { table, id, reason }
})

export interface RafikiTenant {
  id: string
  idpConsentUrl: string | null
  idpSecret: string | null
  apiSecret: string
  createdAt: Date
  updatedAt: Date
  deletedAt: Date | null
}

export interface TenantRow {
  id: string
  idp_consent_url: string | null
  idp_secret_hash: Buffer | null
  api_secret_encrypted: Buffer
  created_at: Date
  updated_at: Date
  deleted_at: Date | null
}

export function mapTenant(
  t: RafikiTenant,
  seal: (secret: string, tenantId: string) => Buffer
): Mapped<TenantRow> {
  const id = t.id.toLowerCase()
  const notes =
    t.apiSecret.length < MIN_SECRET_LENGTH
      ? [
          `its API secret is shorter than ${MIN_SECRET_LENGTH} characters: kept, since Rafiki's ` +
            'backend signs with it; set a longer one after the cutover'
        ]
      : []
  return {
    row: {
      id,
      idp_consent_url: t.idpConsentUrl,
      // Rafiki kept it in plain text; opas compares presented secrets with this hash.
      idp_secret_hash: t.idpSecret === null ? null : hashSecret(t.idpSecret),
      api_secret_encrypted: seal(t.apiSecret, id),
      created_at: t.createdAt,
      updated_at: t.updatedAt,
      deleted_at: t.deletedAt
    },
    notes
  }
}

export interface RafikiGrant {
  id: string
  tenantId: string
  state: string | null
  finalizationReason: string | null
  startMethod: string[] | null
  continueToken: string
  continueId: string
  finishMethod: string | null
  finishUri: string | null
  clientNonce: string | null
  client: string | null
  jwk: Jwk | null
  lastContinuedAt: Date | null
  createdAt: Date
  updatedAt: Date
}

export interface GrantRow {
  id: string
  tenant_id: string
  state: GrantState
  finalization_reason: FinalizationReason | null
  start_method: string[] | null
  continue_id: string
  continue_token_hash: Buffer
  finish_method: string | null
  finish_uri: string | null
  client_nonce: string | null
  grant_uri: string
  client: string | null
  jwk: Jwk | null
  last_continued_at: Date
  created_at: Date
  updated_at: Date
}

const isGrantState = (s: string | null): s is GrantState =>
  (grantStates as readonly (string | null)[]).includes(s)
const isReason = (r: string | null): r is FinalizationReason =>
  (finalizationReasons as readonly (string | null)[]).includes(r)

/**
 * A grant. `authServerUrl` is AUTH_SERVER_URL: Rafiki's finish hash covers
 * `AUTH_SERVER_URL/{tenantId}` (its grant endpoint), which opas keeps per grant.
 */
export function mapGrant(g: RafikiGrant, authServerUrl: string): Mapped<GrantRow> {
  if (!isUuid(g.continueId)) return skip('grants', g.id, 'its continueId is not a UUID')
  if (!isGrantState(g.state)) return skip('grants', g.id, `unknown state ${String(g.state)}`)
  if (g.client === null && g.jwk === null) {
    return skip('grants', g.id, 'it names no client (neither a wallet address nor a JWK)')
  }
  const notes: string[] = []
  let reason: FinalizationReason | null = null
  if (g.state === 'FINALIZED') {
    if (isReason(g.finalizationReason)) reason = g.finalizationReason
    else {
      // Finalized before Rafiki recorded why (its migration added the column without a value).
      reason = 'ISSUED'
      notes.push('finalized without a recorded reason: imported as ISSUED')
    }
  } else if (g.finalizationReason !== null) {
    notes.push(`a ${g.state} grant with finalization reason ${g.finalizationReason}: dropped`)
  }
  return {
    row: {
      id: g.id.toLowerCase(),
      tenant_id: g.tenantId.toLowerCase(),
      state: g.state,
      finalization_reason: reason,
      start_method: g.startMethod,
      continue_id: g.continueId.toLowerCase(),
      continue_token_hash: hashToken(g.continueToken),
      finish_method: g.finishMethod,
      finish_uri: g.finishUri,
      client_nonce: g.clientNonce,
      grant_uri: `${authServerUrl}/${g.tenantId}`,
      client: g.client === null ? null : normalizeWalletAddress(g.client),
      jwk: g.jwk,
      last_continued_at: g.lastContinuedAt ?? g.createdAt,
      created_at: g.createdAt,
      updated_at: g.updatedAt
    },
    notes
  }
}

export interface RafikiAccessToken {
  id: string
  grantId: string
  value: string
  managementId: string
  expiresIn: number
  revokedAt: Date | null
  createdAt: Date
}

export interface AccessTokenRow {
  id: string
  grant_id: string
  value_hash: Buffer
  management_id: string
  expires_in: number
  revoked_at: Date | null
  created_at: Date
}

/** An access token: its value only as opas looks it up (SHA-256), its manage URL's id kept. */
export function mapAccessToken(t: RafikiAccessToken): Mapped<AccessTokenRow> {
  return {
    row: {
      id: t.id.toLowerCase(),
      grant_id: t.grantId.toLowerCase(),
      value_hash: hashToken(t.value),
      management_id: t.managementId.toLowerCase(),
      expires_in: t.expiresIn,
      revoked_at: t.revokedAt,
      created_at: t.createdAt
    },
    notes: []
  }
}

export interface RafikiInteraction {
  id: string
  grantId: string
  ref: string
  nonce: string
  state: string
  expiresIn: number
  createdAt: Date
  updatedAt: Date
}

export interface InteractionRow {
  id: string
  grant_id: string
  ref: string
  nonce: string
  state: InteractionState
  expires_in: number
  created_at: Date
  updated_at: Date
}

/** An interaction: its id and nonce make the link the account holder may still open. */
export function mapInteraction(i: RafikiInteraction): Mapped<InteractionRow> {
  if (!isUuid(i.ref)) return skip('interactions', i.id, 'its ref is not a UUID')
  const state = interactionStates.find((s) => s === i.state)
  if (state === undefined) return skip('interactions', i.id, `unknown state ${i.state}`)
  return {
    row: {
      id: i.id.toLowerCase(),
      grant_id: i.grantId.toLowerCase(),
      ref: i.ref.toLowerCase(),
      nonce: i.nonce,
      state,
      expires_in: i.expiresIn,
      created_at: i.createdAt,
      updated_at: i.updatedAt
    },
    notes: []
  }
}

export interface RafikiAccess {
  id: string
  grantId: string
  type: string
  actions: string[]
  identifier: string | null
  limits: Record<string, unknown> | null
  createdAt: Date
}

export interface AccessRow {
  id: string
  grant_id: string
  position: number
  type: string
  actions: string[]
  identifier: string | null
  limits: Record<string, unknown> | null
  created_at: Date
}

/**
 * An access item, at `position` among its grant's (Rafiki keeps no order: the importer orders
 * them as Rafiki's own reads do, by creation). Limits are stored as the wire carries them, as
 * Rafiki stores them (after its migration renaming `sendAmount` to `debitAmount`).
 */
export function mapAccess(a: RafikiAccess, position: number): Mapped<AccessRow> {
  if (!accessTypes.some((t) => t === a.type)) {
    return skip('accesses', a.id, `unknown access type ${a.type}`)
  }
  return {
    row: {
      id: a.id.toLowerCase(),
      grant_id: a.grantId.toLowerCase(),
      position,
      type: a.type,
      actions: a.actions,
      identifier: a.identifier,
      limits: a.limits,
      created_at: a.createdAt
    },
    notes: []
  }
}

export interface RafikiSubject {
  id: string
  grantId: string
  subId: string
  subIdFormat: string
  createdAt: Date
}

export interface SubjectRow {
  id: string
  grant_id: string
  position: number
  sub_id: string
  sub_id_format: string
  created_at: Date
}

/** A subject identifier (RFC 9635 §2.2) asked for by a grant, at `position` among its own. */
export function mapSubject(s: RafikiSubject, position: number): Mapped<SubjectRow> {
  return {
    row: {
      id: s.id.toLowerCase(),
      grant_id: s.grantId.toLowerCase(),
      position,
      sub_id: s.subId,
      sub_id_format: s.subIdFormat,
      created_at: s.createdAt
    },
    notes: []
  }
}
