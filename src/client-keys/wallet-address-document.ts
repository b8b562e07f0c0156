import { ClientKeyError } from './client-key-error.js'

/** The public wallet address document (Open Payments wallet-address-server.yaml). */
export interface WalletAddressDocument {
  id: string
  publicName?: string
  assetCode: string
  assetScale: number
  authServer: string
  resourceServer: string
}

function isUrl(v: unknown): v is string {
  return typeof v === 'string' && URL.canParse(v)
}

/**
 * Validate a wallet address document against the required fields of the Open Payments spec
 * and return a frozen copy with only the known fields (it is cached and shared).
 * @throws ClientKeyError `invalid_document`
 */
export function parseWalletAddressDocument(doc: unknown, url: string): WalletAddressDocument {
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>
  const { id, publicName, assetCode, assetScale, authServer, resourceServer } = d
  const valid =
    isUrl(id) &&
    (publicName === undefined || typeof publicName === 'string') &&
    typeof assetCode === 'string' &&
    assetCode !== '' &&
    typeof assetScale === 'number' &&
    Number.isInteger(assetScale) &&
    assetScale >= 0 &&
    assetScale <= 255 &&
    isUrl(authServer) &&
    isUrl(resourceServer)
  if (!valid || Array.isArray(doc)) throw new ClientKeyError('invalid_document', url)
  const out: WalletAddressDocument = { id, assetCode, assetScale, authServer, resourceServer }
  if (publicName !== undefined) out.publicName = publicName
  return Object.freeze(out)
}
