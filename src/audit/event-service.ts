import type { Db, Queryable } from '../storage/db.js'
import {
  eventsOfGrant,
  insertEvent,
  listEvents,
  purgeEvents,
  type EventFilter,
  type EventsOfChange
} from './event-store.js'
import type { AuditEvent, NewEvent } from './events.js'

/** At most this many events a page (the console's and the CLI's listings). */
export const MAX_EVENTS_PAGE = 200

/**
 * The audit trail. `record` writes an event in the caller's transaction (the change's own);
 * the listings read it for the console and the CLI, whose callers decide whose events a viewer
 * may see (a tenant its own, the operator every tenant's).
 */
export function createEventService(deps: { db: Db }) {
  const { db } = deps
  return {
    /** One event, or one of each type given (in that order), alike but for their type. */
    record: (
      q: Queryable,
      event: EventsOfChange & Pick<NewEvent, 'tenantId' | 'grantId'>
    ): Promise<void> => insertEvent(q, event),
    list: (filter: EventFilter, page: { limit: number; before?: string }): Promise<AuditEvent[]> =>
      listEvents(db, filter, {
        ...page,
        limit: Math.min(Math.max(page.limit, 1), MAX_EVENTS_PAGE)
      }),
    ofGrant: (grantId: string): Promise<AuditEvent[]> => eventsOfGrant(db, grantId),
    /** The retention job's rule: events older than EVENT_RETENTION_DAYS, a batch at a time. */
    purge: (limit: number, days: number): Promise<number> => purgeEvents(db, limit, days)
  }
}

export type EventService = ReturnType<typeof createEventService>
