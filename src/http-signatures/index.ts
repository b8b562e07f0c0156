// HTTP Message Signatures (RFC 9421) as GNAP uses them (RFC 9635 §7.3.1), and Content-Digest
// (RFC 9530). Pure: no framework, no clock, no environment.
export type {
  HttpMessage,
  KeyLookup,
  RequiredComponentProfile,
  VerifiedSignature,
  VerifyPolicy
} from './types.js'
export { requiredComponentProfiles } from './types.js'
export { SignatureError, signatureErrorReasons } from './signature-error.js'
export type { SignatureErrorReason } from './signature-error.js'
export { verifyMessage } from './verify.js'
export { ed25519Backend, verifyEd25519 } from './ed25519.js'
export {
  contentDigestAlgorithms,
  createContentDigest,
  verifyContentDigest
} from './content-digest.js'
export type { ContentDigestAlgorithm } from './content-digest.js'
export { createSignatureBase, derivedComponents } from './components.js'
export type { DerivedComponent } from './components.js'
export { defaultComponents, signMessage } from './sign.js'
export type { SignatureHeaders, SignOptions } from './sign.js'
