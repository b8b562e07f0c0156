import type { AccessItem } from '../gnap/access.js'
import { invalidFlag, invalidRequest } from '../gnap/gnap-error.js'
import type { GrantRequest } from '../gnap/request-schemas.js'
import { parseRepeatingInterval } from './interval.js'

/** The interaction policy knobs (Rafiki §3.3). */
export interface InteractionPolicy {
  incomingPaymentInteraction: boolean
  quoteInteraction: boolean
  listAllAccessInteraction: boolean
}

const UINT64_MAX = 18_446_744_073_709_551_615n

function isSkippable(item: AccessItem, policy: InteractionPolicy): boolean {
  if (item.limits !== undefined) return false
  const listAllNeedsInteraction =
    policy.listAllAccessInteraction && item.actions.includes('list-all')
  if (item.type === 'incoming-payment')
    return !policy.incomingPaymentInteraction && !listAllNeedsInteraction
  if (item.type === 'quote') return !policy.quoteInteraction && !listAllNeedsInteraction
  return false // outgoing payments always need the account holder's consent
}

function checkLimits(item: AccessItem): void {
  const limits = item.limits
  if (!limits) return
  if (limits.debitAmount && limits.receiveAmount) {
    throw invalidRequest('only one access amount allowed')
  }
  for (const amount of [limits.debitAmount, limits.receiveAmount]) {
    if (amount && BigInt(amount.value) > UINT64_MAX) {
      throw invalidRequest('amount value must be an unsigned 64-bit integer')
    }
  }
  if (limits.interval !== undefined && !parseRepeatingInterval(limits.interval)) {
    throw invalidRequest('limits interval must be an ISO 8601 repeating interval')
  }
}

// A finish URI is where the AS sends the browser (RFC 9635 §2.5.2): any app scheme will do, but
// never one that runs code or reads local files in the browser.
const forbiddenFinishSchemes = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:'])

function checkFinishUri(request: GrantRequest): void {
  const uri = request.interact?.finish?.uri
  if (uri !== undefined && forbiddenFinishSchemes.has(new URL(uri).protocol)) {
    throw invalidRequest('interact finish uri scheme is not allowed')
  }
}

function checkSubject(request: GrantRequest): void {
  for (const subId of request.subject?.sub_ids ?? []) {
    let url: URL
    try {
      url = new URL(subId.id)
    } catch {
      throw invalidRequest('subject id must be a valid https url')
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw invalidRequest('subject id must be a valid https url')
    }
  }
}

/**
 * RFC 9635 §2.1.1: a flag may appear once, and the one flag a request may carry, `bearer`, asks
 * for a token usable without the client's key, which Open Payments does not have: every token
 * is bound to its client's key (§7.3). Anything else (`durable` is a response flag) is not a
 * flag opas can honour either.
 */
function checkFlags(request: GrantRequest): void {
  const flags = request.access_token?.flags ?? []
  if (new Set(flags).size !== flags.length) throw invalidFlag('a flag is given more than once')
  for (const flag of flags) {
    if (flag === 'bearer') {
      throw invalidFlag('bearer tokens are not supported: every token is bound to the client key')
    }
    throw invalidFlag(`unsupported access token flag: ${JSON.stringify(flag)}`)
  }
}

/**
 * Decides whether the grant needs the account holder's interaction (Rafiki §3.3, RFC 9635 §1.5)
 * and checks what the schema cannot: the request carries access or a subject, amounts fit in
 * uint64, only one amount per limit, intervals parse, and items needing consent name the
 * account (`identifier`). Throws GnapError 400 `invalid_request`.
 */
export function assessGrantRequest(
  request: GrantRequest,
  policy: InteractionPolicy
): { interactive: boolean; access: AccessItem[] } {
  const access = (request.access_token?.access ?? []) as AccessItem[]
  const subIds = request.subject?.sub_ids ?? []
  if (access.length === 0 && subIds.length === 0) {
    throw invalidRequest('subject or access_token required')
  }
  checkFlags(request)
  access.forEach(checkLimits)
  checkSubject(request)
  checkFinishUri(request)
  const needsConsent = access.filter((item) => !isSkippable(item, policy))
  // Rafiki checks only the first such item; every item that needs consent must name its account.
  if (needsConsent.some((item) => !item.identifier)) {
    throw invalidRequest('access identifier required')
  }
  return { interactive: subIds.length > 0 || needsConsent.length > 0, access }
}
