import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { EventOrigin } from '../audit/events.js'
import type { EventService } from '../audit/event-service.js'
import { isUuid } from '../gnap/wire.js'
import type { Db } from '../storage/db.js'
import type { TenantDirectory } from '../tenant/tenant-directory.js'
import {
  deleteConsoleSession,
  insertConsoleSession,
  touchConsoleSession
} from './console-session-store.js'

/** However active, a session ends this long after sign-in: sign in again once a working day. */
export const CONSOLE_SESSION_MAX_SECONDS = 12 * 3600

/** Who is signed in to the console. */
export interface ConsoleSession {
  tenantId: string
  /** The operator tenant (OPERATOR_TENANT_ID) sees every tenant's grants and manages tenants. */
  isOperator: boolean
  /** The form token of this session: every form it posts carries it (see `formTokenMatches`). */
  formToken: string
}

/** What became of a sign-in. */
export type SignIn =
  | { outcome: 'signed_in'; sessionId: string }
  | { outcome: 'wrong' }
  | { outcome: 'throttled'; retryAfterSeconds: number }

const hashId = (sessionId: string) => createHash('sha256').update(sessionId, 'utf8').digest()

function equalText(a: string, b: unknown): boolean {
  if (typeof b !== 'string') return false
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Console sign-in and sessions. A tenant signs in with its id and API secret (the key that signs
 * its admin API requests, so the console gives no one more than the admin API already does).
 * The session id is 256 random bits held by the browser; the database keeps its hash. Forms are
 * protected by a token derived from the session id with a key (synchroniser token without
 * storage, OWASP CSRF cheat sheet), and the sign-in form by one derived from a nonce cookie.
 */
export function createConsoleSessions(deps: {
  db: Db
  /** Sign-ins, refusals and sign-outs go into the audit trail, with the session's change. */
  events: Pick<EventService, 'record'>
  tenants: Pick<TenantDirectory, 'apiSecretOf' | 'tryApiSecret'>
  /** COOKIE_KEY: the console derives its own keys from it, one per use. */
  cookieKey: string
  operatorTenantId: string
  ttlSeconds: number
  randomBytes: (n: number) => Buffer
}) {
  const { db, tenants, events } = deps
  const operatorId = deps.operatorTenantId.toLowerCase()
  const derive = (use: string) => createHmac('sha256', deps.cookieKey).update(use).digest()
  const key = derive('opas console tokens')
  const mac = (purpose: string, value: string) =>
    createHmac('sha256', key).update(`${purpose}\0${value}`, 'utf8').digest()
  // The API secret the session was opened with, by a keyed hash: a changed secret ends it.
  const secretCheck = (tenantId: string, secret: string) => mac(`secret ${tenantId}`, secret)
  const formToken = (sessionId: string) => mac('form', sessionId).toString('base64url')
  const signInToken = (nonce: string) => mac('sign-in form', nonce).toString('base64url')

  return {
    /**
     * The key that signs the console's cookies: not COOKIE_KEY itself, so that no interaction
     * cookie's signature is ever a valid console cookie's.
     */
    cookieSecret: derive('opas console cookies').toString('base64'),
    /** A new random value for the sign-in form's nonce cookie. */
    newNonce: () => deps.randomBytes(32).toString('base64url'),
    signInToken,
    signInTokenMatches: (nonce: string | undefined, presented: unknown) =>
      nonce !== undefined && equalText(signInToken(nonce), presented),

    /**
     * Opens a session for a tenant whose API secret this is, sent from `from`; `wrong` for any
     * wrong, unknown or malformed id or secret alike. Every try counts against the budgets of
     * tries at API secrets (the admin API's too), before it is checked: `throttled` once they are
     * spent, whatever was typed. A session opened and a secret refused are audit events (a
     * throttled try is not: nothing was checked, and the budget bounds the trail).
     */
    async signIn(
      anyCaseTenantId: string,
      apiSecret: string,
      from: Omit<EventOrigin, 'actor'> & { remoteAddress: string }
    ): Promise<SignIn> {
      const tenantId = anyCaseTenantId.trim().toLowerCase()
      const tried = await tenants.tryApiSecret(tenantId, from.remoteAddress)
      if (tried.throttled)
        return { outcome: 'throttled', retryAfterSeconds: tried.retryAfterSeconds }
      const stored = tried.secret
      // Compared by keyed hashes: equal lengths, constant time, whatever was typed.
      const matches =
        stored !== undefined &&
        timingSafeEqual(secretCheck(tenantId, stored), secretCheck(tenantId, apiSecret))
      if (!matches) {
        // Under the id tried, when it is one: a tenant's trail shows the tries at its secret.
        const claimed = isUuid(tenantId) ? tenantId : null
        await events.record(db, {
          ...from,
          type: 'console.sign_in_refused',
          tenantId: claimed,
          actor: { kind: 'console', tenantId: claimed }
        })
        return { outcome: 'wrong' }
      }
      await tried.proved()
      const sessionId = deps.randomBytes(32).toString('base64url')
      await db.transaction(async (tx) => {
        await insertConsoleSession(tx, {
          idHash: hashId(sessionId),
          tenantId,
          secretCheck: secretCheck(tenantId, stored),
          ttlSeconds: deps.ttlSeconds
        })
        await events.record(tx, {
          ...from,
          type: 'console.signed_in',
          tenantId,
          actor: { kind: 'console', tenantId }
        })
      })
      return { outcome: 'signed_in', sessionId }
    },

    /**
     * The session of this id, its idle expiry pushed on; undefined when it was signed out, has
     * expired, or its tenant was deleted or given another API secret since (then it is ended).
     */
    async open(sessionId: string): Promise<ConsoleSession | undefined> {
      const idHash = hashId(sessionId)
      const row = await touchConsoleSession(
        db,
        idHash,
        deps.ttlSeconds,
        CONSOLE_SESSION_MAX_SECONDS
      )
      if (!row) return undefined
      const secret = await tenants.apiSecretOf(row.tenantId)
      const check = secret === undefined ? undefined : secretCheck(row.tenantId, secret)
      if (!check || !timingSafeEqual(check, row.secretCheck)) {
        await deleteConsoleSession(db, idHash)
        return undefined
      }
      return {
        tenantId: row.tenantId,
        isOperator: row.tenantId === operatorId,
        formToken: formToken(sessionId)
      }
    },

    /** Ends the session of `tenantId`, with its audit event. */
    signOut: (sessionId: string, tenantId: string, from: Omit<EventOrigin, 'actor'>) =>
      db.transaction(async (tx) => {
        if (!(await deleteConsoleSession(tx, hashId(sessionId)))) return
        await events.record(tx, {
          ...from,
          type: 'console.signed_out',
          tenantId,
          actor: { kind: 'console', tenantId }
        })
      }),

    formTokenMatches: (session: ConsoleSession, presented: unknown) =>
      equalText(session.formToken, presented)
  }
}

export type ConsoleSessions = ReturnType<typeof createConsoleSessions>
