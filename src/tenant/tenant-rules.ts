import { isUuid } from '../gnap/wire.js'

/**
 * What makes a tenant acceptable, whichever door it comes through (the service API, the console,
 * the CLI): the tenant directory checks it once, and each surface only words the answer.
 */

/**
 * The shortest API or IdP secret accepted. An API secret keys the HMAC of a tenant's admin API
 * requests and signs it into the console, and an IdP secret is the IdP's bearer credential:
 * twenty characters of even a lowercase alphabet are about 94 bits, far beyond guessing through
 * the rate-limited doors, while Rafiki's backend sends secrets well over this length.
 */
export const MIN_SECRET_LENGTH = 20
export const MAX_SECRET_LENGTH = 1024
export const MAX_URL_LENGTH = 2048

export type TenantField =
  'id' | 'apiSecret' | 'idpConsentUrl' | 'idpSecret' | 'webhookUrl' | 'webhookSecret'

/** Why a tenant was refused: the field, the rule it broke, and the rule's bound. */
export type TenantProblem =
  | { field: TenantField; rule: 'uuid' | 'http_url' }
  | { field: TenantField; rule: 'too_short' | 'too_long'; limit: number }

/** The fields of a tenant being created or changed (undefined: not given; null: none). */
export interface TenantFields {
  id?: string
  apiSecret?: string
  idpConsentUrl?: string | null
  idpSecret?: string | null
  /** The tenant's own webhook receiver (null: its events go to WEBHOOK_URL). */
  webhookUrl?: string | null
  /** The key its webhooks are signed with (generated when a URL is set without one). */
  webhookSecret?: string | null
}

function secretProblem(field: TenantField, value: string): TenantProblem | undefined {
  if (value.length < MIN_SECRET_LENGTH)
    return { field, rule: 'too_short', limit: MIN_SECRET_LENGTH }
  if (value.length > MAX_SECRET_LENGTH) return { field, rule: 'too_long', limit: MAX_SECRET_LENGTH }
  return undefined
}

function urlProblem(field: TenantField, value: string): TenantProblem | undefined {
  if (value.length > MAX_URL_LENGTH) return { field, rule: 'too_long', limit: MAX_URL_LENGTH }
  // The pattern admits only http(s) with no white space; URL must also be able to parse it.
  return /^https?:\/\/\S+$/i.test(value) && URL.canParse(value)
    ? undefined
    : { field, rule: 'http_url' }
}

/** The first problem of `fields`, in the order a form shows them; undefined when acceptable. */
export function tenantProblem(fields: TenantFields): TenantProblem | undefined {
  if (fields.id !== undefined && !isUuid(fields.id)) return { field: 'id', rule: 'uuid' }
  if (fields.apiSecret !== undefined) {
    const problem = secretProblem('apiSecret', fields.apiSecret)
    if (problem) return problem
  }
  if (typeof fields.idpConsentUrl === 'string') {
    const problem = urlProblem('idpConsentUrl', fields.idpConsentUrl)
    if (problem) return problem
  }
  if (typeof fields.idpSecret === 'string') {
    const problem = secretProblem('idpSecret', fields.idpSecret)
    if (problem) return problem
  }
  if (typeof fields.webhookUrl === 'string') {
    const problem = urlProblem('webhookUrl', fields.webhookUrl)
    if (problem) return problem
  }
  if (typeof fields.webhookSecret === 'string') {
    return secretProblem('webhookSecret', fields.webhookSecret)
  }
  return undefined
}

/**
 * A problem in words, the field named as the surface names it (`apiSecret`, `--api-secret`,
 * `The API secret`): "apiSecret must be at least 20 characters".
 */
export function describeTenantProblem(problem: TenantProblem, name: string): string {
  switch (problem.rule) {
    case 'uuid':
      return `${name} must be a UUID`
    case 'http_url':
      return `${name} must be an http or https URL`
    case 'too_short':
      return `${name} must be at least ${problem.limit} characters`
    case 'too_long':
      return `${name} must be at most ${problem.limit} characters`
  }
}
