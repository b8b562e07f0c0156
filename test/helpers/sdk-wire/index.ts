import { dotnetSdk } from './dotnet-sdk.js'
import { goSdk } from './go-sdk.js'
import { phpSdk } from './php-sdk.js'
import { rustSdk } from './rust-sdk.js'

/** The official SDKs other than TypeScript's (which the tests drive as the real package). */
export const officialSdks = [goSdk, dotnetSdk, rustSdk, phpSdk] as const

export { sdkWireClient, sendWire } from './sdk-signature.js'
export type { GrantRequest, SdkShape, SdkWireClient, Tamper, WireRequest } from './sdk-signature.js'
