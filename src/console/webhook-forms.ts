import { isEventId } from '../audit/events.js'
import { isUuid } from '../gnap/wire.js'
import type { DeliveryFilter } from '../webhook/webhook-store.js'
import { formField, type Form } from './console-forms.js'

/**
 * What the Webhooks page's filters and its "retry now" form mean. Pure; which deliveries a
 * viewer may see or retry is the route's scope and the webhook service's to decide.
 */

/** The Webhooks page's filters as typed, to show them again. */
export interface WebhookValues {
  state: string
  grant: string
}

/** The states a viewer filters by, as the page names them. */
export const deliveryStates = ['pending', 'delivered', 'failed'] as const
type DeliveryState = (typeof deliveryStates)[number]
const isDeliveryState = (value: string): value is DeliveryState =>
  (deliveryStates as readonly string[]).includes(value)

/** The Webhooks page's query read: the filter and the cursor, or the sentence of what is wrong. */
export type WebhookSearch =
  | { values: WebhookValues; filter: DeliveryFilter; before: string | undefined; problem?: never }
  | { values: WebhookValues; problem: string }

/**
 * The Webhooks page's query: a state, a grant id and the page's cursor (an event id). Every
 * malformed value is a problem in words, never a guess; a tenant's scope is the route's to add,
 * so nothing here names a tenant.
 */
export function readWebhookSearch(query: Readonly<Record<string, unknown>>): WebhookSearch {
  const text = (name: string) => {
    const value = query[name]
    return typeof value === 'string' ? value.trim() : value === undefined ? '' : undefined
  }
  const raw = { state: text('state'), grant: text('grant'), before: text('before') }
  const values: WebhookValues = { state: raw.state ?? '', grant: raw.grant ?? '' }
  const refuse = (problem: string): WebhookSearch => ({ values, problem })
  if (Object.values(raw).some((v) => v === undefined)) return refuse('Give each filter once.')
  if (values.state && !isDeliveryState(values.state)) {
    return refuse('Choose a state from the list.')
  }
  if (values.grant && !isUuid(values.grant)) {
    return refuse('The grant ID is not a UUID (such as 0190c6a2-7b1e-7c3d-9a4f-5e6d7c8b9a0f).')
  }
  if (raw.before && !isEventId(raw.before)) {
    return refuse('This page link is damaged. Start again from the newest webhooks.')
  }
  return {
    values,
    filter: {
      ...(isDeliveryState(values.state) ? { state: values.state } : {}),
      ...(values.grant ? { grantId: values.grant.toLowerCase() } : {})
    },
    before: raw.before || undefined
  }
}

/**
 * The "retry now" form: the listing's filters it was pressed on, to return to them (a value
 * that is not a filter is dropped, not refused: the retry itself does not depend on it).
 */
export function readRetryForm(body: Form): WebhookValues {
  const search = readWebhookSearch({
    state: formField(body, 'state'),
    grant: formField(body, 'grant')
  })
  return search.problem === undefined ? search.values : { state: '', grant: '' }
}
