const COMMA = 0x2c
const DQUOTE = 0x22
const BACKSLASH = 0x5c
const EQUALS = 0x3d
const SP = 0x20
const HTAB = 0x09

function isOws(c: number): boolean {
  return c === SP || c === HTAB
}

/**
 * The raw text of a dictionary member's value exactly as received (the bytes after `key=`),
 * for a field value that has already parsed as an RFC 8941 §3.2 dictionary.
 *
 * RFC 9421 §2.3 signs the serialized Inner List of Signature-Input; reproducing the received
 * bytes avoids re-serialization differences. Members are split on commas outside strings
 * (RFC 8941 §4.2.2; commas cannot occur elsewhere in a valid member), and when a key
 * repeats the last one wins, as in parsing.
 *
 * @returns undefined when no member `key=...` exists.
 */
export function rawDictionaryMember(field: string, key: string): string | undefined {
  let found: string | undefined
  let start = 0
  let inString = false
  const length = field.length
  for (let i = 0; i <= length; i++) {
    const c = i < length ? field.charCodeAt(i) : COMMA
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === DQUOTE) inString = false
      continue
    }
    if (c === DQUOTE) {
      inString = true
      continue
    }
    if (c !== COMMA) continue
    let s = start
    let e = i
    while (s < e && isOws(field.charCodeAt(s))) s++
    while (e > s && isOws(field.charCodeAt(e - 1))) e--
    if (
      e - s > key.length &&
      field.charCodeAt(s + key.length) === EQUALS &&
      field.startsWith(key, s)
    ) {
      found = field.slice(s + key.length + 1, e)
    }
    start = i + 1
  }
  return found
}
