export { createClientKeys } from './client-keys.js'
export type { ClientKeys, ClientKeysOptions } from './client-keys.js'
export { ClientKeyError, clientKeyErrorReasons } from './client-key-error.js'
export type { ClientKeyErrorReason } from './client-key-error.js'
export { importEd25519Jwk, parseJwks, publicJwk } from './jwk.js'
export type { PublicJwk } from './jwk.js'
export type { WalletAddressDocument } from './wallet-address-document.js'
export { parseWalletAddressDocument } from './wallet-address-document.js'
export { createSafeFetch, checkUrl, SafeFetchError, safeFetchErrorReasons } from './safe-fetch.js'
export type {
  Resolver,
  ResolvedAddress,
  SafeFetch,
  SafeFetchErrorReason,
  SafeFetchOptions
} from './safe-fetch.js'
export {
  addressClasses,
  classifyAddress,
  createAddressPolicy,
  isForbiddenAddress
} from './address-policy.js'
export type { AddressClass, AddressPolicy } from './address-policy.js'
