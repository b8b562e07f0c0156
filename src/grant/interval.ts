/**
 * ISO 8601 repeating intervals, as Open Payments uses them for outgoing-payment limits
 * (`R12/2019-08-24T14:15:22Z/P1M`): `R[n]/<start>/<duration>`, `R[n]/<start>/<end>` or
 * `R[n]/<duration>/<end>`. `R` or `R-1` alone means unbounded repetition (ISO 8601-1 §5.6.1).
 * Rafiki stored the string without checking it; a malformed interval then surfaced only when a
 * resource server tried to enforce the limit.
 */
export interface Duration {
  years: number
  months: number
  weeks: number
  days: number
  hours: number
  minutes: number
  seconds: number
}

export interface RepeatingInterval {
  /** Number of repetitions; undefined means unbounded. */
  repetitions: number | undefined
  start: Date | undefined
  end: Date | undefined
  duration: Duration | undefined
}

const REPEAT = /^R(-1|\d{1,9})?$/
const DATE_TIME =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?$/
const DURATION =
  /^P(?:(\d{1,9})Y)?(?:(\d{1,9})M)?(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9}(?:\.\d{1,9})?)S)?)?$/

function parseDateTime(text: string): Date | undefined {
  if (!DATE_TIME.test(text)) return undefined
  const date = new Date(text)
  return Number.isNaN(date.getTime()) ? undefined : date
}

function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text)
  if (!m || text === 'P' || text.endsWith('T')) return undefined
  const n = (i: number) => Number(m[i] ?? 0)
  const d = {
    years: n(1),
    months: n(2),
    weeks: n(3),
    days: n(4),
    hours: n(5),
    minutes: n(6),
    seconds: n(7)
  }
  return Object.values(d).some((v) => v > 0) ? d : undefined
}

/** Parses a repeating interval; undefined when it is not one. */
export function parseRepeatingInterval(text: string): RepeatingInterval | undefined {
  const parts = text.split('/')
  if (parts.length !== 3) return undefined
  const [repeat, first, second] = parts as [string, string, string]
  const r = REPEAT.exec(repeat)
  if (!r) return undefined
  const repetitions = r[1] === undefined || r[1] === '-1' ? undefined : Number(r[1])
  const startAsDate = parseDateTime(first)
  if (startAsDate) {
    const end = parseDateTime(second)
    if (end) {
      return end > startAsDate
        ? { repetitions, start: startAsDate, end, duration: undefined }
        : undefined
    }
    const duration = parseDuration(second)
    return duration ? { repetitions, start: startAsDate, end: undefined, duration } : undefined
  }
  const duration = parseDuration(first)
  const end = parseDateTime(second)
  return duration && end ? { repetitions, start: undefined, end, duration } : undefined
}
