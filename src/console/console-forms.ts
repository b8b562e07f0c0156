import { isUuid } from '../gnap/wire.js'
import { isGrantStatus, type GrantStatus } from '../grant/grant-status.js'
import type { TenantInput } from '../tenant/tenant-directory.js'
import {
  describeTenantProblem,
  type TenantField,
  type TenantProblem
} from '../tenant/tenant-rules.js'

/**
 * What the console's forms mean: a posted form's fields (and the grant search's query) read into
 * what the services take. Pure; whether the values are acceptable is the service's to judge.
 */

/** A parsed form body (`application/x-www-form-urlencoded`); absent when nothing was posted. */
export type Form = Record<string, unknown> | undefined

/** A text field of a form: anything else (missing, repeated) reads as empty. */
export function formField(body: Form, name: string): string {
  const value = body?.[name]
  return typeof value === 'string' ? value : ''
}

/** The form token a form presents (checked against the session's, or the sign-in nonce's). */
export const formTokenOf = (body: Form): unknown => body?.csrf

/** A console path to return to after signing in; anything else (another host) is dropped. */
export const safeNext = (value: string): string | undefined =>
  /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(value) && !value.startsWith('/sign-') ? value : undefined

/** The sign-in form: a tenant's id and API secret, and where to go after. */
export function readSignInForm(body: Form): {
  tenantId: string
  apiSecret: string
  next: string | undefined
} {
  return {
    tenantId: formField(body, 'tenantId').trim(),
    apiSecret: formField(body, 'apiSecret'),
    next: safeNext(formField(body, 'next'))
  }
}

/**
 * The grant search's query: a wallet address, a state, the operator's choice of tenant (a
 * malformed one is no choice) and the page's cursor (`after` wins over `before`).
 */
export function readGrantSearch(query: Readonly<Record<string, string | undefined>>): {
  wallet: string
  status: GrantStatus | undefined
  tenant: string | undefined
  after: string | undefined
  before: string | undefined
} {
  const after = query.after && isUuid(query.after) ? query.after : undefined
  return {
    wallet: (query.wallet ?? '').trim().slice(0, 2048),
    status: isGrantStatus(query.state) ? query.state : undefined,
    tenant: query.tenant && isUuid(query.tenant) ? query.tenant.toLowerCase() : undefined,
    after,
    before: !after && query.before && isUuid(query.before) ? query.before : undefined
  }
}

/**
 * The new-tenant form as the tenant directory takes it (an empty API secret is generated), and
 * the values to show again if it is refused (never a secret).
 */
export function readNewTenantForm(body: Form): {
  id: string
  input: TenantInput
  values: { id: string; idpConsentUrl: string }
} {
  const id = formField(body, 'id').trim()
  const apiSecret = formField(body, 'apiSecret')
  return {
    id,
    input: {
      ...(apiSecret ? { apiSecret } : {}),
      idpConsentUrl: formField(body, 'idpConsentUrl').trim() || null,
      idpSecret: formField(body, 'idpSecret') || null
    },
    values: { id, idpConsentUrl: formField(body, 'idpConsentUrl').trim() }
  }
}

/**
 * The tenant form's change: an empty API secret keeps the stored one; the IdP secret as chosen.
 * `change` is a sentence when the choice itself is incomplete (the values are the tenant
 * directory's to judge); `values` are shown again if it is refused (never a secret).
 */
export function readTenantChange(body: Form): {
  change: TenantInput | string
  values: { idpConsentUrl: string }
} {
  return {
    change: tenantChange(body),
    values: { idpConsentUrl: formField(body, 'idpConsentUrl').trim() }
  }
}

function tenantChange(body: Form): TenantInput | string {
  const change: TenantInput = {
    idpConsentUrl: formField(body, 'idpConsentUrl').trim() || null
  }
  const apiSecret = formField(body, 'apiSecret')
  if (apiSecret) change.apiSecret = apiSecret
  const idpSecret = formField(body, 'idpSecret')
  switch (formField(body, 'idpSecretChange') || 'keep') {
    case 'keep':
      return change
    case 'set':
      return idpSecret
        ? { ...change, idpSecret }
        : 'Type the new IdP secret, or choose to keep or remove it.'
    case 'clear':
      return { ...change, idpSecret: null }
    default:
      return 'Choose whether to keep, set or remove the IdP secret.'
  }
}

/** The tenant forms' fields as people read them. */
const fieldNames: Record<TenantField, string> = {
  id: 'The tenant ID',
  apiSecret: 'The API secret',
  idpConsentUrl: 'The IdP consent URL',
  idpSecret: 'The IdP secret'
}

/** The tenant directory's refusal as a sentence of the form. */
export const tenantFormProblem = (problem: TenantProblem): string =>
  `${describeTenantProblem(problem, fieldNames[problem.field])}.`
