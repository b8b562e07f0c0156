import { createAuthenticatedClient, type AuthenticatedClient } from '@interledger/open-payments'
import type { TestClient } from './wallet-address-server.js'

/**
 * The official Open Payments client (`@interledger/open-payments`) signing as `client`, over
 * plain http (local servers) and checking every response against the Open Payments specs.
 */
export function sdkClientFor(
  client: Pick<TestClient, 'walletAddress' | 'privateKey' | 'keyId'>
): Promise<AuthenticatedClient> {
  return createAuthenticatedClient({
    walletAddressUrl: client.walletAddress,
    privateKey: client.privateKey,
    keyId: client.keyId,
    useHttp: true,
    validateResponses: true,
    logLevel: 'silent'
  })
}

/**
 * The outgoing-payment access item the flows ask for: create and read payments from
 * `identifier`, up to USD 5.00 each month for 12 months from `start` (a date, UTC midnight).
 */
export function outgoingPaymentAccess(identifier: string, start = '2026-01-01') {
  return {
    type: 'outgoing-payment' as const,
    actions: ['create' as const, 'read' as const],
    identifier,
    limits: {
      debitAmount: { value: '500', assetCode: 'USD', assetScale: 2 },
      interval: `R12/${start}T00:00:00Z/P1M`
    }
  }
}
