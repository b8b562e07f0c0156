import type { Logger } from 'pino'
import { clientName, type ActorKind } from '../audit/events.js'
import type { ClientIdentity } from '../gnap/client-identity.js'

/** The moments of a grant's life an operator reads in the log (RFC 9635 §1.5, §5.4). */
type GrantEvent = 'requested' | 'issued' | 'approved' | 'rejected' | 'revoked'

/**
 * One `info` line per lifecycle event, on the request's logger (so it carries the request id):
 * the grant, its tenant and its client, and for an operator's revocation who revoked it; never
 * a token, secret or signature.
 */
export function logGrantEvent(
  log: Pick<Logger, 'info'>,
  event: GrantEvent,
  grant: { grantId: string; tenantId: string; client: ClientIdentity | string | null },
  /** An operator's revocation: the surface it used (the audit event's actor kind). */
  by?: ActorKind
): void {
  log.info(
    {
      event: `grant.${event}`,
      grantId: grant.grantId,
      tenantId: grant.tenantId,
      client: clientLabel(grant.client),
      ...(by ? { by } : {})
    },
    `grant ${event}`
  )
}

/**
 * A wallet address as is; a directed-identity client as the audit trail names it (its key's
 * RFC 7638 thumbprint: a key id is the client's to choose, and two clients may share one), so
 * a log line and the trail's event name the same client alike.
 */
const clientLabel = (client: ClientIdentity | string | null): string | null =>
  client === null || typeof client === 'string' ? client : clientName(client)
