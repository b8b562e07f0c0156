import type { HttpMessage } from './types.js'
import { SignatureError } from './signature-error.js'

export const derivedComponents = [
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query'
] as const
export type DerivedComponent = (typeof derivedComponents)[number]

// RFC 9421 §2.1: HTTP field names are lower-cased tokens (RFC 9110 §5.1).
const FIELD_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
// RFC 9112 §5.2: obs-fold is replaced by a single space.
const OBS_FOLD = /[ \t]*\r?\n[ \t]+/g
const SP = 0x20
const HTAB = 0x09

/** True when `name` may appear as a covered component identifier. */
export function isSupportedComponent(name: string): boolean {
  if (name.charCodeAt(0) === 0x40 /* @ */)
    return (derivedComponents as readonly string[]).includes(name)
  return FIELD_NAME.test(name)
}

/** The parts of the target URI the derived components need, parsed once per message. */
interface TargetParts {
  authority: string
  scheme: string
  path: string
  query: string
}

function parseTarget(targetUri: string): TargetParts {
  let url: URL
  try {
    url = new URL(targetUri)
  } catch {
    throw new SignatureError('malformed', 'target URI is not absolute')
  }
  return {
    // RFC 9421 §2.2.3: lower-case host, default port omitted (URL already drops it).
    authority: url.host.toLowerCase(),
    scheme: url.protocol.slice(0, -1).toLowerCase(),
    // RFC 9421 §2.2.6: an empty path is a single slash.
    path: url.pathname === '' ? '/' : url.pathname,
    // RFC 9421 §2.2.7: an absent query is the leading `?` alone.
    query: url.search === '' ? '?' : url.search
  }
}

function trimOws(value: string): string {
  let start = 0
  let end = value.length
  let c = value.charCodeAt(start)
  while (start < end && (c === SP || c === HTAB)) c = value.charCodeAt(++start)
  c = value.charCodeAt(end - 1)
  while (end > start && (c === SP || c === HTAB)) c = value.charCodeAt(--end - 1)
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

function hasLineBreak(value: string): boolean {
  return value.includes('\n') || value.includes('\r')
}

// RFC 9421 §2.1: strip, unfold, then join field lines with ", ".
function normalizeFieldLine(value: string): string {
  let v = trimOws(value)
  if (hasLineBreak(v)) {
    v = v.replace(OBS_FOLD, ' ')
    // A bare line break would forge extra signature base lines (RFC 9421 §2.5).
    if (hasLineBreak(v)) throw new SignatureError('malformed', 'field value contains a line break')
  }
  return v
}

function fieldValue(msg: HttpMessage, name: string): string {
  const raw = msg.headers[name]
  if (raw === undefined) {
    throw new SignatureError('missing_component', `covered field ${name} is absent`)
  }
  if (typeof raw === 'string') return normalizeFieldLine(raw)
  if (raw.length === 0) {
    throw new SignatureError('missing_component', `covered field ${name} is absent`)
  }
  return raw.map(normalizeFieldLine).join(', ')
}

/**
 * RFC 9421 §2.5 steps 1-2: the component lines of the signature base, each ending in a
 * newline, without the final `@signature-params` line.
 *
 * @throws SignatureError as {@link createSignatureBase}
 */
export function createComponentLines(msg: HttpMessage, components: readonly string[]): string {
  let target: TargetParts | undefined
  let lines = ''
  for (let i = 0; i < components.length; i++) {
    const name = components[i] as string
    // RFC 9421 §2.5 step 1.1: an identifier may appear only once.
    if (components.indexOf(name) !== i) {
      throw new SignatureError('malformed', `component ${name} is covered twice`)
    }
    let value: string
    switch (name) {
      case '@method':
        value = msg.method.toUpperCase()
        break
      case '@target-uri':
        value = msg.targetUri
        if (hasLineBreak(value))
          throw new SignatureError('malformed', 'target URI has a line break')
        break
      case '@authority':
        value = (target ??= parseTarget(msg.targetUri)).authority
        break
      case '@scheme':
        value = (target ??= parseTarget(msg.targetUri)).scheme
        break
      case '@request-target':
        target ??= parseTarget(msg.targetUri)
        // RFC 9421 §2.2.5: origin-form, i.e. path plus query when there is one.
        value = target.query === '?' ? target.path : target.path + target.query
        break
      case '@path':
        value = (target ??= parseTarget(msg.targetUri)).path
        break
      case '@query':
        value = (target ??= parseTarget(msg.targetUri)).query
        break
      default:
        if (!isSupportedComponent(name)) {
          throw new SignatureError('malformed', `unsupported component ${JSON.stringify(name)}`)
        }
        value = fieldValue(msg, name)
    }
    lines += `"${name}": ${value}\n`
  }
  return lines
}

/**
 * RFC 9421 §2.5: the signature base for the given covered components (plain identifiers
 * without component parameters) and the serialized signature parameters (the Inner List
 * that follows `label=` in Signature-Input, e.g. `("@method");created=1;keyid="k"`).
 *
 * @throws SignatureError `missing_component` when a covered field is absent, `malformed` for
 *   unsupported or duplicated identifiers or values that cannot be represented.
 */
export function createSignatureBase(
  msg: HttpMessage,
  components: readonly string[],
  signatureParams: string
): string {
  // RFC 9421 §2.3: the last line is the signature parameters, with no trailing newline.
  return `${createComponentLines(msg, components)}"@signature-params": ${signatureParams}`
}
