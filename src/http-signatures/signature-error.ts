export const signatureErrorReasons = [
  'missing_headers',
  'malformed',
  'missing_component',
  'digest_missing',
  'digest_mismatch',
  'digest_unsupported',
  'no_keyid',
  'stale',
  'bad_algorithm',
  'bad_signature',
  'replayed'
] as const

export type SignatureErrorReason = (typeof signatureErrorReasons)[number]

/** Why a request's signature or Content-Digest was refused. */
export class SignatureError extends Error {
  readonly reason: SignatureErrorReason

  constructor(reason: SignatureErrorReason, message: string = reason) {
    super(message)
    this.name = 'SignatureError'
    this.reason = reason
  }
}
