import type { EventFilter } from '../audit/event-store.js'
import { eventTypes, isEventId, isEventType, type EventType } from '../audit/events.js'
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

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?)?$/i

/**
 * A moment as typed in a filter: a date or a date and time in UTC unless it names its offset
 * (`2026-12-01`, `2026-12-01T09:30` as a datetime-local field sends it, `…Z`, `…+02:00`), or an
 * age before `now` (`30m`, `12h`, `7d`). Undefined when it is none of these, or no such day.
 */
export function readMoment(value: string, now: number): Date | undefined {
  const age = /^(\d{1,6}) ?([mhd])$/i.exec(value)
  if (age) {
    return new Date(now - Number(age[1]) * UNIT_MS[age[2]!.toLowerCase() as keyof typeof UNIT_MS])
  }
  const parts = DATE_TIME.exec(value)
  if (!parts) return undefined
  const [, day, time = '00:00', zone = 'Z'] = parts
  const at = new Date(`${day}T${time}${zone.toUpperCase()}`)
  // No 31 February (Date would roll it over into March), and no year before 1970.
  const midnight = new Date(`${day}T00:00Z`)
  const sameDay = !Number.isNaN(midnight.getTime()) && midnight.toISOString().startsWith(day!)
  return !sameDay || Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1970 ? undefined : at
}

/** The Activity page's filters as typed, to show them again. */
export interface ActivityValues {
  type: string
  grant: string
  wallet: string
  since: string
  until: string
  tenant: string
}

/** The Activity page's query read: the filter and the cursor, or the sentence of what is wrong. */
export type ActivitySearch =
  | { values: ActivityValues; filter: EventFilter; before: string | undefined; problem?: never }
  | { values: ActivityValues; problem: string }

/** An event type, or a group of them by what they concern (`grant`: every grant.* type). */
function typesOf(value: string): readonly EventType[] | undefined {
  if (isEventType(value)) return [value]
  const group = eventTypes.filter((type) => type.startsWith(`${value}.`))
  return group.length ? group : undefined
}

const MOMENT_HINT = 'a date and time in UTC (2026-12-01T09:30) or an age (30m, 12h, 7d)'

/**
 * The Activity page's query: an event type (or group), a grant id, a wallet address, since and
 * until, the operator's choice of tenant (`operator` false: the tenant= of the query is not
 * read at all, the route scopes the trail to the viewer's own) and the page's cursor. Every
 * malformed value is a problem, in words, never a guess.
 */
export function readActivitySearch(
  query: Readonly<Record<string, unknown>>,
  options: { now: number; operator: boolean }
): ActivitySearch {
  const text = (name: string) => {
    const value = query[name]
    return typeof value === 'string' ? value.trim() : value === undefined ? '' : undefined
  }
  const raw = {
    type: text('type'),
    grant: text('grant'),
    wallet: text('wallet'),
    since: text('since'),
    until: text('until'),
    tenant: options.operator ? text('tenant') : '',
    before: text('before')
  }
  const values: ActivityValues = {
    type: raw.type ?? '',
    grant: raw.grant ?? '',
    wallet: (raw.wallet ?? '').slice(0, 2048),
    since: raw.since ?? '',
    until: raw.until ?? '',
    tenant: raw.tenant ?? ''
  }
  const refuse = (problem: string): ActivitySearch => ({ values, problem })
  if (Object.values(raw).some((v) => v === undefined)) return refuse('Give each filter once.')
  const typeIn = values.type ? typesOf(values.type) : undefined
  if (values.type && !typeIn) return refuse('Choose an event type from the list.')
  if (values.grant && !isUuid(values.grant)) {
    return refuse('The grant ID is not a UUID (such as 0190c6a2-7b1e-7c3d-9a4f-5e6d7c8b9a0f).')
  }
  if (raw.wallet!.length > 2048) return refuse('The wallet address is too long.')
  if (values.tenant && !isUuid(values.tenant)) return refuse('The tenant ID is not a UUID.')
  const since = values.since ? readMoment(values.since, options.now) : undefined
  if (values.since && !since) return refuse(`"Since" takes ${MOMENT_HINT}.`)
  const until = values.until ? readMoment(values.until, options.now) : undefined
  if (values.until && !until) return refuse(`"Until" takes ${MOMENT_HINT}.`)
  if (since && until && since >= until) return refuse('"Since" must be before "until".')
  if (raw.before && !isEventId(raw.before)) {
    return refuse('This page link is damaged. Start again from the newest events.')
  }
  return {
    values,
    filter: {
      ...(typeIn ? { typeIn } : {}),
      ...(values.grant ? { grantId: values.grant.toLowerCase() } : {}),
      ...(values.wallet ? { walletAddress: values.wallet } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(values.tenant ? { tenantId: values.tenant.toLowerCase() } : {})
    },
    before: raw.before || undefined
  }
}

/**
 * The new-tenant form as the tenant directory takes it (an empty API secret is generated, and so
 * is an empty webhook secret when a webhook URL is given), and the values to show again if it is
 * refused (never a secret).
 */
export function readNewTenantForm(body: Form): {
  id: string
  input: TenantInput
  values: { id: string; idpConsentUrl: string; webhookUrl: string }
} {
  const id = formField(body, 'id').trim()
  const apiSecret = formField(body, 'apiSecret')
  const webhookUrl = formField(body, 'webhookUrl').trim()
  const webhookSecret = formField(body, 'webhookSecret')
  return {
    id,
    input: {
      ...(apiSecret ? { apiSecret } : {}),
      idpConsentUrl: formField(body, 'idpConsentUrl').trim() || null,
      idpSecret: formField(body, 'idpSecret') || null,
      ...(webhookUrl ? { webhookUrl } : {}),
      ...(webhookSecret ? { webhookSecret } : {})
    },
    values: { id, idpConsentUrl: formField(body, 'idpConsentUrl').trim(), webhookUrl }
  }
}

/**
 * The tenant form's change: an empty API secret keeps the stored one; the IdP and webhook
 * secrets as chosen; an empty webhook URL removes it (and its secret). `change` is a sentence
 * when a choice itself is incomplete (the values are the tenant directory's to judge); `values`
 * are shown again if it is refused (never a secret).
 */
export function readTenantChange(body: Form): {
  change: TenantInput | string
  values: { idpConsentUrl: string; webhookUrl: string }
} {
  return {
    change: tenantChange(body),
    values: {
      idpConsentUrl: formField(body, 'idpConsentUrl').trim(),
      webhookUrl: formField(body, 'webhookUrl').trim()
    }
  }
}

function tenantChange(body: Form): TenantInput | string {
  const idpSecret = idpSecretChange(body)
  if (typeof idpSecret === 'string') return idpSecret
  const webhookSecret = webhookSecretChange(body)
  if (typeof webhookSecret === 'string') return webhookSecret
  const apiSecret = formField(body, 'apiSecret')
  return {
    idpConsentUrl: formField(body, 'idpConsentUrl').trim() || null,
    ...(apiSecret ? { apiSecret } : {}),
    ...idpSecret,
    webhookUrl: formField(body, 'webhookUrl').trim() || null,
    ...webhookSecret
  }
}

function idpSecretChange(body: Form): Pick<TenantInput, 'idpSecret'> | string {
  const idpSecret = formField(body, 'idpSecret')
  switch (formField(body, 'idpSecretChange') || 'keep') {
    case 'keep':
      return {}
    case 'set':
      return idpSecret ? { idpSecret } : 'Type the new IdP secret, or choose to keep or remove it.'
    case 'clear':
      return { idpSecret: null }
    default:
      return 'Choose whether to keep, set or remove the IdP secret.'
  }
}

/**
 * The webhook secret as chosen: kept (one is generated when a URL is set and none is kept), the
 * one typed, or a new one generated (the directory generates one when the stored one is removed
 * while a URL stays).
 */
function webhookSecretChange(body: Form): Pick<TenantInput, 'webhookSecret'> | string {
  const webhookSecret = formField(body, 'webhookSecret')
  switch (formField(body, 'webhookSecretChange') || 'keep') {
    case 'keep':
      return {}
    case 'set':
      return webhookSecret
        ? { webhookSecret }
        : 'Type the new webhook secret, or choose to keep it or to have a new one generated.'
    case 'generate':
      return { webhookSecret: null }
    default:
      return 'Choose whether to keep, set or generate the webhook secret.'
  }
}

/** The tenant forms' fields as people read them. */
const fieldNames: Record<TenantField, string> = {
  id: 'The tenant ID',
  apiSecret: 'The API secret',
  idpConsentUrl: 'The IdP consent URL',
  idpSecret: 'The IdP secret',
  webhookUrl: 'The webhook URL',
  webhookSecret: 'The webhook secret'
}

/** The tenant directory's refusal as a sentence of the form. */
export const tenantFormProblem = (problem: TenantProblem): string =>
  `${describeTenantProblem(problem, fieldNames[problem.field])}.`
