import type { KeyObject } from 'node:crypto'
import { serializeInnerList } from 'structured-headers'
import type { Parameters } from 'structured-headers'
import { createComponentLines } from './components.js'
import { verifyContentDigest } from './content-digest.js'
import { verifyEd25519 } from './ed25519.js'
import { rawDictionaryMember } from './raw-member.js'
import { selectSignature } from './select-signature.js'
import { SignatureError } from './signature-error.js'
import { parseSignatureInput, parseSignatureValues } from './signature-fields.js'
import type { HttpMessage, KeyLookup, VerifiedSignature, VerifyPolicy } from './types.js'

const DEFAULT_MAX_FUTURE_SKEW_SECONDS = 60
const PARAMS_PREFIX = '"@signature-params": '
const EMPTY = Buffer.alloc(0)

function joinField(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  // RFC 9110 §5.3: multiple field lines combine with commas, as one dictionary.
  const joined = typeof value === 'string' ? value : value.join(', ')
  return joined === '' ? undefined : joined
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value)
}

// RFC 9421 §2.3 and §3.2 step 7: the signature parameters the verifier requires.
function checkParameters(
  params: Parameters,
  policy: VerifyPolicy
): { keyid: string; created: number; nonce: string | undefined } {
  const keyid = params.get('keyid')
  if (keyid === undefined || keyid === '') throw new SignatureError('no_keyid', 'keyid is missing')
  if (typeof keyid !== 'string') throw new SignatureError('malformed', 'keyid is not a string')

  const { now } = policy
  const created = params.get('created')
  const skew = policy.maxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS
  if (!isInteger(created) || created < now - policy.maxAgeSeconds || created > now + skew) {
    throw new SignatureError('stale', 'created is missing or outside the accepted window')
  }
  if (params.has('expires')) {
    const expires = params.get('expires')
    if (!isInteger(expires) || expires <= now) {
      throw new SignatureError('stale', 'signature has expired')
    }
  }
  if (params.has('alg') && params.get('alg') !== 'ed25519') {
    throw new SignatureError('bad_algorithm', 'only ed25519 is accepted')
  }
  // RFC 9635 §7.3.1: GNAP signatures may carry tag="gnap" and nothing else.
  if (params.has('tag') && params.get('tag') !== 'gnap') {
    throw new SignatureError('malformed', 'tag must be "gnap"')
  }
  // RFC 9421 §2.3: a nonce is a string; the caller decides what a repeated one means.
  const nonce = params.get('nonce')
  if (params.has('nonce') && (typeof nonce !== 'string' || nonce === '')) {
    throw new SignatureError('malformed', 'nonce is not a non-empty string')
  }
  return { keyid, created, nonce: nonce as string | undefined }
}

function verifyBase(base: string, key: KeyObject, signature: Buffer): boolean {
  // Node decodes header bytes as latin1, so latin1 re-encoding restores the bytes signed.
  return verifyEd25519(Buffer.from(base, 'latin1'), key, signature)
}

/**
 * Verify a request's HTTP Message Signature (RFC 9421) as GNAP requires (RFC 9635 §7.3.1),
 * including its Content-Digest (RFC 9530). All checks that need no key run before
 * `lookupKey`, so a malformed, stale or mis-digested request never triggers a key fetch.
 *
 * @throws SignatureError on any refusal; errors thrown by `lookupKey` propagate unchanged.
 */
export async function verifyMessage(
  msg: HttpMessage,
  lookupKey: KeyLookup,
  policy: VerifyPolicy
): Promise<VerifiedSignature> {
  const signatureField = joinField(msg.headers['signature'])
  const inputField = joinField(msg.headers['signature-input'])
  if (signatureField === undefined || inputField === undefined) {
    throw new SignatureError('missing_headers', 'Signature and Signature-Input are required')
  }
  const signatures = parseSignatureValues(signatureField)
  const inputs = parseSignatureInput(inputField)

  const hasBody = msg.body !== undefined && msg.body.length > 0
  const profile = policy.requiredComponents ?? 'gnap'
  const candidate = selectSignature(inputs, signatures, msg, hasBody, profile)
  const { keyid, created, nonce } = checkParameters(candidate.params, policy)

  // RFC 9530 §6.3: a covered Content-Digest is only meaningful once checked against the body.
  // A bodiless request may carry one uncovered (the PHP SDK digests its empty body without
  // signing it); it is checked too, so no request carries a digest that contradicts its body.
  const digest = joinField(msg.headers['content-digest'])
  if (candidate.components.includes('content-digest')) {
    if (digest === undefined) {
      throw new SignatureError('digest_missing', 'Content-Digest is required with a body')
    }
    verifyContentDigest(digest, msg.body ?? EMPTY)
  } else if (digest !== undefined && !hasBody) {
    verifyContentDigest(digest, EMPTY)
  }

  const lines = createComponentLines(msg, candidate.components)
  // RFC 9421 §2.3: the parameters line is the Signature-Input member as serialized by the signer.
  const rawParams = rawDictionaryMember(inputField, candidate.label)
  const canonicalParams = rawParams === undefined ? serializeInnerList(candidate.input) : undefined

  const key = await lookupKey(keyid)
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SignatureError('bad_algorithm', 'the client key is not Ed25519')
  }
  const result: VerifiedSignature = {
    label: candidate.label,
    keyid,
    created,
    ...(nonce !== undefined && { nonce }),
    components: candidate.components,
    signature: candidate.signature
  }
  const first = rawParams ?? (canonicalParams as string)
  if (verifyBase(lines + PARAMS_PREFIX + first, key, candidate.signature)) return result
  // Non-canonical input: the signer may have signed the canonical serialization instead.
  const canonical = canonicalParams ?? serializeInnerList(candidate.input)
  if (
    canonical !== first &&
    verifyBase(lines + PARAMS_PREFIX + canonical, key, candidate.signature)
  ) {
    return result
  }
  throw new SignatureError('bad_signature', 'signature verification failed')
}
