/**
 * The states of a grant (RFC 9635 §1.5: processing, pending, approved, finalized), as Rafiki
 * stores them (PROCESSING is legacy: read, never written), and why a finalized grant ended.
 * Protocol vocabulary: the grant domain moves grants between them (grant/grant-lifecycle.ts);
 * interactions and tokens read them. In the order a grant moves through them (the Rafiki import
 * relies on it to carry only forward moves over).
 */
export const grantStates = ['PROCESSING', 'PENDING', 'APPROVED', 'FINALIZED'] as const
export type GrantState = (typeof grantStates)[number]
export const finalizationReasons = ['ISSUED', 'REVOKED', 'REJECTED'] as const
export type FinalizationReason = (typeof finalizationReasons)[number]
