import { parseDictionary } from 'structured-headers'
import type { Dictionary } from 'structured-headers'
import { SignatureError } from './signature-error.js'

/**
 * Reading the Signature-Input and Signature fields (RFC 9421 §4.1, §4.2) as the Open Payments
 * SDKs really write them. Strict RFC 8941 dictionaries parse first; only a field that does not
 * parse is read leniently, in the two forms the official SDKs send (sdk-signing.md):
 * - Signature-Input with bare component names, `sig1=(@method @target-uri content-type)` (Rust);
 * - Signature as `label=base64` without colons (PHP), or as bare base64 with no label (Rust).
 * Leniency covers syntax only: what a signature must cover is decided after parsing, the same
 * for every form.
 */

// RFC 9421 §2.1: a component name is a lower-case field name or a derived component.
const BARE_COMPONENT = /^@?[a-z0-9!#$%&'*+.^_`|~-]+$/
// RFC 8941 §3.2: a dictionary key.
const LABEL = /^[a-z*][a-z0-9_.*-]*$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const DQUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN = 0x28

// One inner-list item: an sf-string, or a bare name up to white space or the closing paren.
const INNER_ITEM = /[ \t]*("(?:[^"\\]|\\.)*"|[^ \t"()]+)/y

/**
 * Quotes the bare items of every inner list outside strings, so that `(@method content-type)`
 * reads as `("@method" "content-type")`; quoted items are kept as they are.
 */
function quoteBareItems(field: string): string | undefined {
  let out = ''
  let i = 0
  while (i < field.length) {
    const c = field.charCodeAt(i)
    if (c === DQUOTE) {
      const end = stringEnd(field, i)
      if (end === undefined) return undefined
      out += field.slice(i, end)
      i = end
    } else if (c === OPEN) {
      const items: string[] = []
      INNER_ITEM.lastIndex = i + 1
      for (let m = INNER_ITEM.exec(field); m !== null; m = INNER_ITEM.exec(field)) {
        const item = m[1] as string
        if (item.charCodeAt(0) !== DQUOTE && !BARE_COMPONENT.test(item)) return undefined
        items.push(item.charCodeAt(0) === DQUOTE ? item : `"${item}"`)
        i = INNER_ITEM.lastIndex
      }
      if (items.length === 0) i++
      while (field[i] === ' ' || field[i] === '\t') i++
      if (field[i] !== ')') return undefined
      out += `(${items.join(' ')})`
      i++
    } else {
      out += field[i]
      i++
    }
  }
  return out
}

/** Index just past the sf-string starting at `start`, or undefined when it never closes. */
function stringEnd(field: string, start: number): number | undefined {
  for (let i = start + 1; i < field.length; i++) {
    const c = field.charCodeAt(i)
    if (c === BACKSLASH) i++
    else if (c === DQUOTE) return i + 1
  }
  return undefined
}

/**
 * Signature-Input as a dictionary of inner lists (RFC 9421 §4.1), also when its component names
 * are unquoted.
 *
 * @throws SignatureError `malformed` when neither reading parses
 */
export function parseSignatureInput(field: string): Dictionary {
  try {
    return parseDictionary(field)
  } catch {
    const quoted = quoteBareItems(field)
    if (quoted !== undefined && quoted !== field) {
      try {
        return parseDictionary(quoted)
      } catch {
        // Reported below, as for any other malformed field.
      }
    }
    throw new SignatureError('malformed', 'Signature-Input is not a structured dictionary')
  }
}

/** The signatures of a Signature field: by label, and one without a label (bare base64). */
export interface SignatureValues {
  byLabel: Map<string, Buffer>
  unlabelled?: Buffer
}

/**
 * Signature as its byte sequences (RFC 9421 §4.2), also as `label=base64` or bare base64.
 *
 * @throws SignatureError `malformed` when the field is in none of these forms
 */
export function parseSignatureValues(field: string): SignatureValues {
  const byLabel = new Map<string, Buffer>()
  let dictionary: Dictionary | undefined
  try {
    dictionary = parseDictionary(field)
  } catch {
    dictionary = undefined
  }
  if (dictionary !== undefined) {
    for (const [label, member] of dictionary) {
      const value = member[0]
      if (value instanceof ArrayBuffer) byLabel.set(label, Buffer.from(value))
    }
    return { byLabel }
  }
  const members = field.split(',').map((member) => member.trim())
  if (members.length === 1 && BASE64.test(members[0] as string)) {
    return { byLabel, unlabelled: Buffer.from(members[0] as string, 'base64') }
  }
  for (const member of members) {
    const equals = member.indexOf('=')
    const label = member.slice(0, equals)
    let value = member.slice(equals + 1)
    if (value.length > 1 && value.startsWith(':') && value.endsWith(':')) value = value.slice(1, -1)
    if (equals <= 0 || !LABEL.test(label) || !BASE64.test(value)) {
      throw new SignatureError('malformed', 'Signature is not a dictionary of byte sequences')
    }
    byLabel.set(label, Buffer.from(value, 'base64'))
  }
  return { byLabel }
}
