import ipaddr from 'ipaddr.js'
import { isIP } from 'node:net'

/**
 * Parsers for the raw strings of environment variables. Each one is strict on purpose: a typo in
 * a deployment should stop the server at start, not silently become a default.
 */

/** Outcome of parsing one raw value; `problem` completes the sentence "VARIABLE ...". */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string }

/** Turns a non-empty raw string into a typed value and names the accepted syntax for the docs. */
export interface ValueParser<T> {
  /** Short description of the accepted values, shown in the reference table. */
  readonly type: string
  parse(raw: string): ParseResult<T>
}

/** Largest delay Node's timers accept; longer values fire immediately, so they are rejected. */
export const maxTimerMs = 2_147_483_647

/** Largest integer accepted by default: big enough for any count or duration, safe after `* 1000`. */
const maxInt = 2_147_483_647

function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value }
}

function fail<T>(problem: string): ParseResult<T> {
  return { ok: false, problem }
}

/** Any non-empty string, taken as given. */
export function text(type = 'string'): ValueParser<string> {
  return { type, parse: ok }
}

/** A decimal integer in `min..max`; signs, exponents, decimals and spaces are rejected. */
export function integer(min: number, max: number = maxInt): ValueParser<number> {
  const range = max === maxInt ? `≥ ${min}` : `${min}..${max}`
  return {
    type: `integer ${range}`,
    parse(raw) {
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN
      if (!Number.isSafeInteger(n)) return fail(`must be a decimal integer (${range})`)
      if (n < min || n > max) return fail(`must be an integer ${range}`)
      return ok(n)
    }
  }
}

/** `true`/`false` (any case) or `1`/`0`; Rafiki read anything but "true" as false, opas refuses. */
export function boolean(): ValueParser<boolean> {
  return {
    type: 'boolean',
    parse(raw) {
      const lower = raw.toLowerCase()
      if (lower === 'true' || raw === '1') return ok(true)
      if (lower === 'false' || raw === '0') return ok(false)
      return fail('must be true, false, 1 or 0')
    }
  }
}

/** One of a fixed list of values, compared exactly (case matters, as in Rafiki). */
export function oneOf<const V extends readonly string[]>(values: V): ValueParser<V[number]> {
  return {
    type: values.map((v) => `\`${v}\``).join(', '),
    parse(raw) {
      const found = values.find((v) => v === raw)
      return found === undefined ? fail(`must be one of ${values.join(', ')}`) : ok(found)
    }
  }
}

/** A canonical 8-4-4-4-12 hexadecimal UUID. */
export function uuid(): ValueParser<string> {
  const pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  return {
    type: 'UUID',
    parse: (raw) => (pattern.test(raw) ? ok(raw) : fail('must be a UUID (8-4-4-4-12 hex digits)'))
  }
}

function parseUrl(raw: string, protocols: readonly string[]): URL | string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'must be an absolute URL'
  }
  const names = protocols.map((p) => p.replace(/:$/, '')).join(' or ')
  return protocols.includes(url.protocol) ? url : `must be a ${names} URL`
}

/** An absolute URL with one of `protocols` (e.g. `['http:', 'https:']`), kept exactly as given. */
export function url(protocols: readonly string[], type: string): ValueParser<string> {
  return {
    type,
    parse(raw) {
      const parsed = parseUrl(raw, protocols)
      return typeof parsed === 'string' ? fail(parsed) : ok(raw)
    }
  }
}

/**
 * A public base URL that other URLs are appended to. Query, fragment and credentials would end
 * up in the middle of every generated URL, so they are refused; the trailing slash is removed
 * (and the URL normalised by WHATWG rules) so `${base}/continue` is always well formed.
 */
export function baseUrl(): ValueParser<string> {
  return {
    type: 'http(s) URL',
    parse(raw) {
      const parsed = parseUrl(raw, ['http:', 'https:'])
      if (typeof parsed === 'string') return fail(parsed)
      if (raw.includes('?') || raw.includes('#')) return fail('must not have a query or fragment')
      if (parsed.username !== '' || parsed.password !== '') return fail('must not have credentials')
      return ok(parsed.href.replace(/\/+$/, ''))
    }
  }
}

/** A comma-separated list of CIDR ranges (IPv4 or IPv6), e.g. `172.18.0.0/16, fd00::/8`. */
export function cidrList(): ValueParser<readonly string[]> {
  return {
    type: 'comma-separated CIDR ranges',
    parse(raw) {
      const ranges = raw
        .split(',')
        .map((r) => r.trim())
        .filter((r) => r !== '')
      for (const range of ranges) {
        try {
          ipaddr.parseCIDR(range)
        } catch {
          return fail(`has ${JSON.stringify(range)}, which is not a CIDR range`)
        }
      }
      return ok(ranges)
    }
  }
}

const resourceServerName = /^[A-Za-z0-9._~-]{1,64}$/

/**
 * Resource servers as comma-separated `name=URL` pairs, each URL its JWKS (http or https, no
 * query, fragment or credentials), e.g. `backend=https://rs.wallet.example/jwks.json`.
 */
export function resourceServerList(): ValueParser<readonly { name: string; jwksUrl: string }[]> {
  return {
    type: 'comma-separated name=JWKS URL pairs',
    parse(raw) {
      const entries: { name: string; jwksUrl: string }[] = []
      for (const item of raw.split(',').map((i) => i.trim())) {
        if (item === '') continue
        const at = item.indexOf('=')
        const name = item.slice(0, at).trim()
        const jwksUrl = item.slice(at + 1).trim()
        if (at < 0 || !resourceServerName.test(name)) {
          return fail(
            `has ${JSON.stringify(item)}: each entry is name=URL, the name 1-64 letters, ` +
              'digits, `.`, `_`, `~` or `-`'
          )
        }
        if (entries.some((e) => e.name === name)) return fail(`names ${name} twice`)
        const parsed = parseUrl(jwksUrl, ['http:', 'https:'])
        if (typeof parsed === 'string') return fail(`has ${name}'s URL, which ${parsed}`)
        if (jwksUrl.includes('?') || jwksUrl.includes('#') || parsed.username || parsed.password) {
          return fail(`has ${name}'s URL with a query, fragment or credentials`)
        }
        entries.push({ name, jwksUrl: parsed.href })
      }
      return entries.length > 0 ? ok(entries) : fail('names no resource server')
    }
  }
}

/** A DNS name: dot-separated labels of letters, digits, `-` and `_` (container names have it). */
const hostName =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i

/**
 * An address to bind a listener to: an IPv4 or IPv6 address as Node takes it (IPv6 without
 * brackets), or a host name, which Node resolves when it binds.
 */
export function bindAddress(): ValueParser<string> {
  return {
    type: 'IP address or host name',
    parse(raw) {
      if (isIP(raw) !== 0 || hostName.test(raw)) return ok(raw)
      if (/^\[.*\]$/.test(raw) && isIP(raw.slice(1, -1)) === 6) {
        return fail(`must be an IPv6 address without brackets (${raw.slice(1, -1)})`)
      }
      return fail('must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1, ::) or a host name')
    }
  }
}
