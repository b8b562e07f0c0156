import { settingEntries } from './config-schema.js'
import type { Config } from './config-types.js'

/** What a secret is replaced with; unset secrets stay undefined so "not configured" still shows. */
export const redacted = '[redacted]'

/**
 * Masks the password of a database or Redis URL, keeping the rest (host, database) readable,
 * since that is what an operator checking the configuration needs to see.
 */
export function redactUrlPassword(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return redacted
  }
  if (url.password !== '') url.password = 'redacted'
  if (url.searchParams.has('password')) url.searchParams.set('password', 'redacted')
  return url.href
}

/**
 * A copy of `config` safe to print or log (for `opas config check`), keyed by the environment
 * variable that sets each setting, as the operator sets it: settings marked `secret` in the
 * schema become `'[redacted]'`, and passwords inside database or Redis URLs are masked.
 */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, spec] of settingEntries()) {
    const value: unknown = config[key]
    if (value === undefined) out[spec.env] = undefined
    else if (spec.secret) out[spec.env] = redacted
    else if (spec.urlWithCredentials && typeof value === 'string')
      out[spec.env] = redactUrlPassword(value)
    else out[spec.env] = value
  }
  return out
}
