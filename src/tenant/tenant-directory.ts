import { randomBytes as cryptoRandomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { hashSecret, secretMatchesHash } from '../gnap/secrets.js'
import { isUuid } from '../gnap/wire.js'
import type { RateLimits } from '../rate-limit/rate-limits.js'
import type { EventService } from '../audit/event-service.js'
import type { EventOrigin } from '../audit/events.js'
import type { Db } from '../storage/db.js'
import type { SecretBox } from './secret-box.js'
import {
  anyTenantWebhook,
  findTenant,
  insertTenant,
  listTenants,
  seedTenant,
  softDeleteTenant,
  updateTenant,
  type Tenant,
  type TenantChange,
  type TenantRecord
} from './tenant-store.js'
import { tenantProblem, type TenantProblem } from './tenant-rules.js'

export type { Tenant } from './tenant-store.js'

/**
 * A tenant as the service API takes it (Rafiki's `AuthServiceClient` body). Without an API
 * secret, the directory generates one.
 */
export interface TenantInput {
  apiSecret?: string
  idpConsentUrl?: string | null
  idpSecret?: string | null
  /** Its own webhook receiver (null: none, its events go to WEBHOOK_URL). */
  webhookUrl?: string | null
  /**
   * The key of its webhooks' signatures; generated when a URL is set and none is kept, and
   * when it is removed (null) while a URL stays: a new one.
   */
  webhookSecret?: string | null
}

/**
 * What became of a new tenant: `generatedApiSecret` is set when none was given, and
 * `generatedWebhookSecret` when a webhook URL was given without a secret (each shown once).
 */
export type TenantCreation =
  | { outcome: 'created'; id: string; generatedApiSecret?: string; generatedWebhookSecret?: string }
  | { outcome: 'invalid'; problem: TenantProblem }
  | { outcome: 'conflict' }

/** What became of a change to a tenant (`generatedWebhookSecret`: as for a new one). */
export type TenantUpdate =
  | { outcome: 'updated'; generatedWebhookSecret?: string }
  | { outcome: 'invalid'; problem: TenantProblem }
  | { outcome: 'not_found' }

/**
 * A try at a tenant's API secret, counted before it is checked: refused (`throttled`), or the
 * secret to check against (none for an unknown tenant: a wrong try like any other) and `proved`,
 * to call once the credential presented matched it.
 */
export type ApiSecretTry =
  | { throttled: true; retryAfterSeconds: number }
  | { throttled: false; secret: string | undefined; proved: () => Promise<void> }

/** A tenant as the service API shows it: the IdP secret is stored hashed and never shown. */
export interface TenantView {
  id: string
  idpConsentUrl: string | null
  hasIdpSecret: boolean
  /** Its own webhook receiver (never its secret). */
  webhookUrl: string | null
  /** Whether it keeps a webhook secret (sealed, never shown after it is set or generated). */
  hasWebhookSecret: boolean
}

/** A tenant's own webhook receiver and the key its webhooks are signed with. */
export interface TenantWebhook {
  url: string
  secret: string
}

/** What the configuration says of the operator tenant, and which of it the environment set. */
export interface OperatorTenant {
  id: string
  idpConsentUrl: string | null
  idpSecret: string | null
  apiSecret: string
  /** The settings the environment set (the others were generated or left unset). */
  fromEnvironment: ReadonlySet<'idpConsentUrl' | 'idpSecret' | 'apiSecret'>
}

/** The associated data a tenant's webhook secret is sealed with: not its API secret's. */
const webhookSeal = (id: string): string => `${id}/webhook`

function changeOf(input: TenantInput, id: string, secrets: SecretBox): TenantChange {
  const change: TenantChange = {}
  if (input.idpConsentUrl !== undefined) change.idpConsentUrl = input.idpConsentUrl
  if (input.idpSecret !== undefined) {
    change.idpSecretHash = input.idpSecret === null ? null : hashSecret(input.idpSecret)
  }
  if (input.apiSecret !== undefined) change.apiSecretSealed = secrets.seal(input.apiSecret, id)
  if (input.webhookUrl !== undefined) change.webhookUrl = input.webhookUrl
  if (input.webhookSecret !== undefined) {
    change.webhookSecretSealed =
      input.webhookSecret === null ? null : secrets.seal(input.webhookSecret, webhookSeal(id))
  }
  return change
}

/**
 * A tenant's webhooks are always signed: a webhook URL without a secret to sign with gets one
 * (256 random bits, shown once), whether none was kept or the secret was removed (null) while a
 * URL stays (so a removal is how a surface asks for a new one); a URL removed takes its secret
 * with it. `current`: the tenant's URL and whether it keeps a secret (none for a new tenant).
 */
function withWebhookSecret(
  input: TenantInput,
  current: { url: string | null; hasSecret: boolean },
  randomBytes: (size: number) => Buffer
): { input: TenantInput; generated?: string } {
  if (input.webhookUrl === null) return { input: { ...input, webhookSecret: null } }
  // A change that names neither webhook field leaves them as they are.
  if (input.webhookUrl === undefined && input.webhookSecret === undefined) return { input }
  const url = input.webhookUrl ?? current.url
  const keepsSecret =
    input.webhookSecret === undefined ? current.hasSecret : input.webhookSecret !== null
  if (url === null || keepsSecret) return { input }
  const generated = randomBytes(32).toString('base64url')
  return { input: { ...input, webhookSecret: generated }, generated }
}

/**
 * What a change did, for its audit event: the names of the fields it set and of those it
 * cleared (null), and the consent URL set (an address, not a secret); never a secret's value.
 */
function changeDetails(input: TenantInput): Record<string, unknown> {
  const named = (
    ['apiSecret', 'idpConsentUrl', 'idpSecret', 'webhookUrl', 'webhookSecret'] as const
  ).filter((field) => input[field] !== undefined)
  const cleared = named.filter((field) => input[field] === null)
  return {
    fields: named.filter((field) => input[field] !== null),
    ...(cleared.length ? { cleared } : {}),
    ...(typeof input.idpConsentUrl === 'string' ? { idpConsentUrl: input.idpConsentUrl } : {}),
    ...(typeof input.webhookUrl === 'string' ? { webhookUrl: input.webhookUrl } : {})
  }
}

/**
 * The one spelling of a tenant id: the database compares uuids in any case, but the cache and
 * the sealed API secret (bound to the id) need one, or a tenant changed through an upper-case
 * id could no longer open its own secret.
 */
const canonical = (id: string): string => id.toLowerCase()

/**
 * The tenants: created, changed and soft-deleted through the service API, and found by every
 * grant request. Live tenants are cached for `ttlMs` (one second: a change made through another
 * process sharing the database is seen within it; this process forgets a changed tenant at
 * once). Unknown ids are not cached, so a new tenant is usable at once.
 */
export function createTenantDirectory(deps: {
  db: Db
  /** Every change goes into the audit trail in its own transaction. */
  events: Pick<EventService, 'record'>
  ttlMs: number
  secrets: SecretBox
  maxEntries?: number
  /** The budgets of tries at API secrets; none counted without. */
  attempts?: Pick<RateLimits, 'attemptSecret'>
  /** Where a generated API secret's bytes come from (node:crypto's unless given). */
  randomBytes?: (size: number) => Buffer
}) {
  const { db, secrets, events } = deps
  const randomBytes = deps.randomBytes ?? cryptoRandomBytes
  // Whole rows: a grant request reads the IdP fields, the admin API the sealed API secret.
  const cache = new LRUCache<string, TenantRecord>({
    max: deps.maxEntries ?? 10_000,
    ttl: deps.ttlMs
  })

  async function live(id: string): Promise<TenantRecord | undefined> {
    const cached = cache.get(id)
    if (cached) return cached
    const row = await findTenant(db, id)
    if (row) cache.set(id, row)
    return row
  }

  async function apiSecretOf(anyCase: string): Promise<string | undefined> {
    const id = canonical(anyCase)
    const row = await live(id)
    return row?.apiSecretSealed ? secrets.open(row.apiSecretSealed, id) : undefined
  }

  const viewOf = (row: TenantRecord): TenantView => ({
    id: row.id,
    idpConsentUrl: row.idpConsentUrl,
    hasIdpSecret: row.idpSecretHash !== null,
    webhookUrl: row.webhookUrl,
    hasWebhookSecret: row.webhookSecretSealed !== null
  })

  // Whether any tenant has a receiver of its own, asked by the webhook deliverer at each pass.
  let anyWebhook: { value: Promise<boolean>; at: number } | undefined

  return {
    /** A live tenant, for a grant request. */
    find: (id: string): Promise<Tenant | undefined> => live(canonical(id)),

    /** A live tenant as the service API shows it, read afresh; none for a malformed id. */
    async show(id: string): Promise<TenantView | undefined> {
      if (!isUuid(id)) return undefined
      const row = await findTenant(db, canonical(id))
      return row && viewOf(row)
    },

    /** Every live tenant, oldest first (the CLI). */
    async list(): Promise<(TenantView & { createdAt: Date })[]> {
      return (await listTenants(db)).map((row) => ({ ...viewOf(row), createdAt: row.createdAt }))
    },

    /**
     * A new tenant, checked by the rules every surface shares (tenant-rules.ts); a conflict when
     * the id is taken, by a live or a deleted tenant. An API secret is generated (256 random
     * bits) when none is given. Written with its audit event, `from` saying who and whence.
     */
    async create(anyCase: string, input: TenantInput, from: EventOrigin): Promise<TenantCreation> {
      const problem = tenantProblem({ id: anyCase, ...input })
      if (problem) return { outcome: 'invalid', problem }
      const id = canonical(anyCase)
      const generated =
        input.apiSecret === undefined ? randomBytes(32).toString('base64url') : undefined
      const apiSecret = input.apiSecret ?? generated
      const webhook = withWebhookSecret(input, { url: null, hasSecret: false }, randomBytes)
      const inserted = await db.transaction(async (tx) => {
        const done = await insertTenant(tx, {
          id,
          idpConsentUrl: null,
          idpSecretHash: null,
          apiSecretSealed: null,
          webhookUrl: null,
          webhookSecretSealed: null,
          ...changeOf({ ...webhook.input, apiSecret }, id, secrets)
        })
        if (done) {
          // A new tenant starts with nothing: a field given as null sets nothing.
          const details = changeDetails({ ...webhook.input, apiSecret })
          delete details.cleared
          if (generated) details.apiSecret = 'generated'
          if (webhook.generated) details.webhookSecret = 'generated'
          await events.record(tx, { ...from, type: 'tenant.created', tenantId: id, details })
        }
        return done
      })
      if (!inserted) return { outcome: 'conflict' }
      anyWebhook = undefined
      return {
        outcome: 'created',
        id,
        ...(generated ? { generatedApiSecret: generated } : {}),
        ...(webhook.generated ? { generatedWebhookSecret: webhook.generated } : {})
      }
    },

    /**
     * A change to a live tenant, checked by the same rules; a malformed id names no tenant.
     * Written with its audit event, naming the fields changed.
     */
    async update(anyCase: string, input: TenantInput, from: EventOrigin): Promise<TenantUpdate> {
      if (!isUuid(anyCase)) return { outcome: 'not_found' }
      const problem = tenantProblem(input)
      if (problem) return { outcome: 'invalid', problem }
      const id = canonical(anyCase)
      const updated = await db.transaction(async (tx) => {
        // Read in the change's transaction: whether a webhook URL set now needs a new secret.
        const current = await findTenant(tx, id, { lock: true })
        if (!current) return undefined
        const webhook = withWebhookSecret(
          input,
          { url: current.webhookUrl, hasSecret: current.webhookSecretSealed !== null },
          randomBytes
        )
        await updateTenant(tx, id, changeOf(webhook.input, id, secrets))
        const details = changeDetails(webhook.input)
        if (webhook.generated) details.webhookSecret = 'generated'
        await events.record(tx, { ...from, type: 'tenant.updated', tenantId: id, details })
        return webhook
      })
      cache.delete(id)
      anyWebhook = undefined
      if (!updated) return { outcome: 'not_found' }
      return {
        outcome: 'updated',
        ...(updated.generated ? { generatedWebhookSecret: updated.generated } : {})
      }
    },

    /** False when there is no live tenant with this id; else deleted, with its audit event. */
    async remove(anyCase: string, deletedAt: Date, from: EventOrigin): Promise<boolean> {
      if (!isUuid(anyCase)) return false
      const id = canonical(anyCase)
      const removed = await db.transaction(async (tx) => {
        const done = await softDeleteTenant(tx, id, deletedAt)
        if (done) await events.record(tx, { ...from, type: 'tenant.deleted', tenantId: id })
        return done
      })
      cache.delete(id)
      anyWebhook = undefined
      return removed
    },

    /** A live tenant's own webhook receiver and signing key, if it has one. */
    async webhookOf(anyCase: string): Promise<TenantWebhook | undefined> {
      const id = canonical(anyCase)
      const row = await live(id)
      if (!row?.webhookUrl || !row.webhookSecretSealed) return undefined
      const secret = secrets.open(row.webhookSecretSealed, webhookSeal(id))
      return secret === undefined ? undefined : { url: row.webhookUrl, secret }
    },

    /** Whether any live tenant has a receiver of its own (asked again after `ttlMs`). */
    anyWebhook(): Promise<boolean> {
      const at = Date.now()
      if (!anyWebhook || at - anyWebhook.at > deps.ttlMs) {
        const value = anyTenantWebhook(db)
        anyWebhook = { value, at }
        value.catch(() => (anyWebhook = undefined))
      }
      return anyWebhook.value
    },

    /** A live tenant's API secret (the key of its admin API signatures). */
    apiSecretOf,

    /**
     * The API secret for a door that checks one presented from `from` (an admin API signature,
     * a console sign-in): every such door comes here, so that guessing is counted against the
     * same budgets whichever door is used, and counted before the check, so that tries sent at
     * once cannot all be checked (rate-limits.ts `attemptSecret`).
     */
    async tryApiSecret(anyCase: string, from: string): Promise<ApiSecretTry> {
      // The secret is read first, so that nothing waits between the try being counted and the
      // caller's check (synchronous) and `proved`: a right secret holds its try for no time, and
      // requests sent at once with it are not refused for each other's tries.
      const secret = isUuid(anyCase) ? await apiSecretOf(anyCase) : undefined
      const attempt = deps.attempts
        ? await deps.attempts.attemptSecret(anyCase, from)
        : { allowed: true as const, succeeded: async () => {} }
      if (!attempt.allowed) return { throttled: true, retryAfterSeconds: attempt.retryAfterSeconds }
      return { throttled: false, secret, proved: attempt.succeeded }
    },

    /**
     * The operator tenant at start: seeded from the configuration the first time; on later
     * starts each value the environment sets wins over one changed through the service API,
     * and `onOverride` names it. Generated values seed only.
     */
    async syncOperator(
      configured: OperatorTenant,
      onOverride: (setting: 'idpConsentUrl' | 'idpSecret' | 'apiSecret') => void,
      from: EventOrigin
    ): Promise<void> {
      const operator = { ...configured, id: canonical(configured.id) }
      // One transaction: the seed's upsert locks the row, so processes starting together on
      // one database apply (and record) an override once; each change with its audit event.
      const overrides = await db.transaction(async (tx) => {
        const seeded = await seedTenant(tx, {
          id: operator.id,
          webhookUrl: null,
          webhookSecretSealed: null,
          idpConsentUrl: operator.idpConsentUrl,
          idpSecretHash: operator.idpSecret === null ? null : hashSecret(operator.idpSecret),
          apiSecretSealed: secrets.seal(operator.apiSecret, operator.id)
        })
        if (seeded.inserted) {
          const { idpConsentUrl, idpSecret, apiSecret } = operator
          const details = changeDetails({ idpConsentUrl, idpSecret, apiSecret })
          delete details.cleared
          await events.record(tx, {
            ...from,
            type: 'tenant.created',
            tenantId: operator.id,
            details
          })
          return []
        }
        const storedApiSecret =
          seeded.apiSecretSealed === null
            ? undefined
            : secrets.open(seeded.apiSecretSealed, operator.id)
        const stored = {
          idpConsentUrl: seeded.idpConsentUrl === operator.idpConsentUrl,
          idpSecret:
            operator.idpSecret === null
              ? seeded.idpSecretHash === null
              : secretMatchesHash(operator.idpSecret, seeded.idpSecretHash),
          apiSecret: storedApiSecret === operator.apiSecret
        }
        const overridden = new Set(operator.fromEnvironment)
        // A stored API secret this key cannot open (TENANT_SECRETS_KEY changed) is of no use.
        if (storedApiSecret === undefined) overridden.add('apiSecret')
        const settings = [...overridden].filter((setting) => !stored[setting])
        const change: TenantInput = {}
        for (const setting of settings) Object.assign(change, { [setting]: operator[setting] })
        if (settings.length > 0) {
          await updateTenant(tx, operator.id, changeOf(change, operator.id, secrets))
          await events.record(tx, {
            ...from,
            type: 'tenant.updated',
            tenantId: operator.id,
            details: changeDetails(change)
          })
        }
        return settings
      })
      overrides.forEach(onOverride)
      cache.delete(operator.id)
    }
  }
}

export type TenantDirectory = ReturnType<typeof createTenantDirectory>
