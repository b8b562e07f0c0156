import type { Amount, AccessItem, OutgoingLimits } from '../gnap/access.js'
import { parseRepeatingInterval, type Duration } from '../grant/interval.js'

/**
 * What an access item lets a client do, in plain English for the account holder: what the
 * built-in consent screen shows. Pure: the same item always reads the same way (dates in UTC).
 */
export interface AccessDescription {
  /** What kind of right, e.g. "Send payments". */
  title: string
  /** The actions in words, e.g. ["create payments", "read its own payments"]. */
  actions: string[]
  /** The wallet address the right applies to, when the item names one. */
  walletAddress: string | undefined
  /**
   * Each limit as a phrase: "up to USD 5.00 each month, for 12 months, from 1 Jan 2026 to 1 Jan 2027" (taken from
   * the account), "up to EUR 4.00 received by the payee", "only to <incoming payment URL>".
   */
  limits: string[]
}

const TITLES: Record<AccessItem['type'], { title: string; noun: string }> = {
  'incoming-payment': { title: 'Receive payments', noun: 'incoming payments' },
  'outgoing-payment': { title: 'Send payments', noun: 'payments' },
  quote: { title: 'Get quotes', noun: 'quotes' }
}

function actionWords(action: string, noun: string): string {
  switch (action) {
    case 'create':
      return `create ${noun}`
    case 'complete':
      return `complete ${noun}`
    case 'read':
      return `see the ${noun} it made`
    case 'read-all':
      return `see all ${noun}, including those other apps made`
    case 'list':
      return `list the ${noun} it made`
    case 'list-all':
      return `list all ${noun}, including those other apps made`
    default:
      return `${action} ${noun}`
  }
}

/** "USD 5.00": the integer `value` in units of 10^-assetScale, with thousands separators. */
export function formatAmount(amount: Amount): string {
  const digits = amount.value.replace(/^0+(?=\d)/, '').padStart(amount.assetScale + 1, '0')
  const whole = digits.slice(0, digits.length - amount.assetScale)
  const fraction = digits.slice(digits.length - amount.assetScale)
  const grouped = BigInt(whole).toLocaleString('en-US')
  return `${amount.assetCode} ${grouped}${fraction ? `.${fraction}` : ''}`
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** "1 Jan 2026", with the UTC time when it is not midnight: "1 Jan 2026, 14:15 UTC". */
export function formatDate(date: Date): string {
  const day = `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`
  const h = date.getUTCHours()
  const m = date.getUTCMinutes()
  if (h === 0 && m === 0) return day
  return `${day}, ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')} UTC`
}

const UNITS: [keyof Duration, string][] = [
  ['years', 'year'],
  ['months', 'month'],
  ['weeks', 'week'],
  ['days', 'day'],
  ['hours', 'hour'],
  ['minutes', 'minute'],
  ['seconds', 'second']
]

/** "each month", "every 2 weeks", "every 1 month and 15 days". */
function everyDuration(duration: Duration): string {
  const parts = UNITS.filter(([key]) => duration[key] > 0).map(([key, unit]) => ({
    n: duration[key],
    unit
  }))
  if (parts.length === 1 && parts[0]!.n === 1) return `each ${parts[0]!.unit}`
  const words = parts.map(({ n, unit }) => `${n} ${unit}${n === 1 ? '' : 's'}`)
  const last = words.pop()!
  return `every ${words.length > 0 ? `${words.join(', ')} and ${last}` : last}`
}

/** `n` times `duration`, in words: "12 months", "6 weeks"; "12 periods" for a composite one. */
function spanOf(duration: Duration, n: number): string {
  const units = UNITS.filter(([key]) => duration[key] > 0)
  if (units.length !== 1) return n === 1 ? '1 period' : `${n} periods`
  const [key, unit] = units[0]!
  const total = duration[key] * n
  return `${total} ${unit}${total === 1 ? '' : 's'}`
}

/**
 * `date` moved by `duration` `n` times (negative: back), on the UTC calendar. A month step
 * that lands past a month's end stays on its last day (31 Jan + 1 month = 28 Feb), as the
 * date libraries that enforce these limits count.
 */
function shifted(date: Date, duration: Duration, n: number): Date {
  const months = (duration.years * 12 + duration.months) * n
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth() + months
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  const monthly = new Date(date)
  monthly.setUTCFullYear(year, month, Math.min(date.getUTCDate(), lastDay))
  const seconds =
    ((duration.weeks * 7 + duration.days) * 86_400 +
      duration.hours * 3600 +
      duration.minutes * 60 +
      duration.seconds) *
    n
  return new Date(monthly.getTime() + seconds * 1000)
}

/**
 * An Open Payments interval (ISO 8601 repeating interval) in words, with the whole span it
 * covers: `R12/2026-01-01T00:00:00Z/P1M` reads "each month, for 12 months, from 1 Jan 2026 to
 * 1 Jan 2027" (not "12 times", which reads as twelve payments).
 */
export function describeInterval(text: string): string {
  const interval = parseRepeatingInterval(text)
  // Grant requests are validated on arrival; a stored interval always parses. Show it raw
  // rather than hide it if that ever fails.
  if (!interval) return `per interval ${text}`
  const { duration, repetitions: n } = interval
  if (!duration) {
    return interval.start && interval.end
      ? `between ${formatDate(interval.start)} and ${formatDate(interval.end)}`
      : `per interval ${text}`
  }
  const parts = [everyDuration(duration)]
  // R0 still describes the one interval it starts with.
  const count = n === undefined ? undefined : Math.max(n, 1)
  if (count !== undefined) parts.push(`for ${spanOf(duration, count)}`)
  const start =
    interval.start ?? (interval.end && count ? shifted(interval.end, duration, -count) : undefined)
  const end =
    interval.end ?? (interval.start && count ? shifted(interval.start, duration, count) : undefined)
  if (start && end) parts.push(`from ${formatDate(start)} to ${formatDate(end)}`)
  else if (start) parts.push(`from ${formatDate(start)}`)
  else if (end) parts.push(`until ${formatDate(end)}`)
  return parts.join(', ')
}

function describeLimits(limits: OutgoingLimits): string[] {
  const every = limits.interval ? ` ${describeInterval(limits.interval)}` : ''
  const lines: string[] = []
  if (limits.debitAmount) {
    lines.push(`up to ${formatAmount(limits.debitAmount)}${every}`)
  }
  if (limits.receiveAmount) {
    lines.push(`up to ${formatAmount(limits.receiveAmount)} received by the payee${every}`)
  }
  if (!limits.debitAmount && !limits.receiveAmount && limits.interval) {
    lines.push(`no amount limit,${every}`)
  }
  if (limits.receiver) lines.push(`only to ${limits.receiver}`)
  return lines
}

export function describeAccess(item: AccessItem): AccessDescription {
  const { title, noun } = TITLES[item.type]
  return {
    title,
    actions: item.actions.map((a) => actionWords(a, noun)),
    walletAddress: item.identifier,
    limits:
      item.type === 'outgoing-payment'
        ? item.limits
          ? describeLimits(item.limits)
          : ['no limit on the amount']
        : []
  }
}
