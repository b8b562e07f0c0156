import type { Dictionary, InnerList, Parameters } from 'structured-headers'
import { isSupportedComponent } from './components.js'
import { SignatureError } from './signature-error.js'
import type { SignatureValues } from './signature-fields.js'
import type { HttpMessage, RequiredComponentProfile } from './types.js'

/** One label of Signature-Input that has a matching Signature member. */
export interface SignatureCandidate {
  label: string
  components: string[]
  params: Parameters
  /** The parsed Signature-Input member, for canonical re-serialization. */
  input: InnerList
  signature: Buffer
}

// RFC 9421 §2.1: identifiers are lower-case sf-strings; component parameters are not supported.
function componentNames(items: InnerList[0]): string[] | undefined {
  const names: string[] = []
  for (const [value, params] of items) {
    if (typeof value !== 'string' || params.size !== 0) return undefined
    if (!isSupportedComponent(value) || names.includes(value)) return undefined
    names.push(value)
  }
  return names
}

// RFC 9635 §7.3.1: what a GNAP signature must cover.
function coversRequired(
  components: readonly string[],
  msg: HttpMessage,
  hasBody: boolean,
  profile: RequiredComponentProfile
): boolean {
  if (profile === 'none') return true
  const { headers } = msg
  if (!components.includes('@method') || !components.includes('@target-uri')) return false
  if (headers.authorization !== undefined && !components.includes('authorization')) return false
  if (!hasBody) return true
  return (
    components.includes('content-digest') &&
    (headers['content-length'] === undefined || components.includes('content-length')) &&
    (headers['content-type'] === undefined || components.includes('content-type'))
  )
}

/**
 * Picks the first Signature-Input label (in field order) that also has a Signature member
 * and covers the required components. A signature without a label (bare base64) belongs to the
 * Signature-Input when that has exactly one member.
 *
 * @throws SignatureError `missing_component` when a well-formed label lacks components,
 *   otherwise `malformed`.
 */
export function selectSignature(
  inputs: Dictionary,
  signatures: SignatureValues,
  msg: HttpMessage,
  hasBody: boolean,
  profile: RequiredComponentProfile
): SignatureCandidate {
  let incomplete = false
  const unlabelled = inputs.size === 1 ? signatures.unlabelled : undefined
  for (const [label, input] of inputs) {
    const signature = signatures.byLabel.get(label) ?? unlabelled
    if (signature === undefined) continue
    const [items, params] = input
    // RFC 9421 §4.1: Signature-Input members are inner lists.
    if (!Array.isArray(items)) continue
    const components = componentNames(items)
    if (components === undefined) continue
    if (!coversRequired(components, msg, hasBody, profile)) {
      incomplete = true
      continue
    }
    return {
      label,
      components,
      params,
      input: input as InnerList,
      signature
    }
  }
  if (incomplete) {
    throw new SignatureError('missing_component', 'no signature covers the required components')
  }
  throw new SignatureError('malformed', 'no usable signature label')
}
