import type { Queryable } from '../storage/db.js'
import type { StatementParams } from '../storage/statement-params.js'
import { actorColumns, type AuditEvent, type EventType, type NewEvent } from './events.js'

/*
 * The `events` table (migration 011). The audit domain owns it: a change in another domain
 * writes its event through `insertEventSql`, spliced into the statement that makes the change
 * (one round trip, as the grant's own rows are written), or `insertEvent` inside the change's
 * transaction. Either way the event commits or rolls back with the change.
 */

/**
 * What insertEventSql writes for each row of its source: one event per type, in the order
 * given (a continuation and the issue it made), alike but for their type.
 */
export type EventsOfChange = Omit<NewEvent, 'tenantId' | 'grantId' | 'type'> & {
  type: EventType | readonly EventType[]
}

/** One event of a change: what a statement written for one type (insertEventSql) takes. */
export type EventOfChange = EventsOfChange & { type: EventType }

/**
 * An event's values for insertEventSql, in its parameters' order (ids come from the CTE): its
 * type, or its types as an array for a statement written for several.
 */
export function eventParams(event: EventsOfChange): unknown[] {
  const actor = actorColumns(event.actor)
  return [
    event.type,
    event.client ?? null,
    actor.kind,
    actor.name,
    event.requestId ?? null,
    event.remoteAddress ?? null,
    JSON.stringify(event.details ?? {})
  ]
}

/** An event's values added to a statement built with StatementParams: their placeholders. */
export const addEventParams = (params: StatementParams, event: EventsOfChange): string[] =>
  eventParams(event).map((value) => params.add(value))

/**
 * An `insert into events` for a CTE: for each row `source` returns, an event of the type in the
 * first parameter, or with `several`, one of each type in that array (numbered in that order:
 * migration 012); its tenant and grant (and, when given, the grant's client) read from that row
 * (`ids`, SQL expressions on it), the rest from the parameters after it (eventParams). The
 * parameters are `$first` and the six after it, or the placeholders addEventParams returned. A
 * statement whose change touched no row writes no event. (One type is a plain select: the
 * array's function scan and sort would cost the hot paths' one-event statements for nothing.)
 */
export function insertEventSql(
  source: string,
  first: number | readonly string[],
  ids: { tenant: string; grant: string | null; client?: string },
  several = false
): string {
  const p = (i: number) => (typeof first === 'number' ? `$${first + i}` : first[i]!)
  const client = ids.client ? `coalesce(${ids.client}, ${p(1)}::text)` : `${p(1)}::text`
  const [type, from] = several
    ? [
        'event_type.type',
        `${source} cross join unnest(${p(0)}::text[]) with ordinality as event_type(type, n)
  order by event_type.n`
      ]
    : [`${p(0)}::text`, source]
  return `insert into events (type, tenant_id, grant_id, client, actor_kind, actor, request_id,
    remote_address, details)
  select ${type}, ${ids.tenant}, ${ids.grant ?? 'null::uuid'}, ${client},
    ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, ${p(5)}::text, ${p(6)}::jsonb
  from ${from}`
}

/** One event (or one of each type given), in the transaction of the change it records. */
export async function insertEvent(
  q: Queryable,
  event: EventsOfChange & Pick<NewEvent, 'tenantId' | 'grantId'>
): Promise<void> {
  await q.query(
    `with e(tenant_id, grant_id) as (select $8::uuid, $9::uuid)
     ${insertEventSql('e', 1, { tenant: 'e.tenant_id', grant: 'e.grant_id' }, typeof event.type !== 'string')}`,
    [...eventParams(event), event.tenantId, event.grantId ?? null]
  )
}

/** Which events to list; every condition given must hold. */
export interface EventFilter {
  /** One tenant's (a tenant's own trail; the operator may leave it out). */
  tenantId?: string
  grantId?: string
  typeIn?: readonly EventType[]
  /** The grant's client, or the acting client: a wallet address (or `jwk:<thumbprint>`). */
  walletAddress?: string
  since?: Date
  until?: Date
}

// The id as text (a bigint may exceed 2^53); listings order by the column itself (events.id).
const COLUMNS = `id::text, at, type, tenant_id as "tenantId", grant_id as "grantId", client,
  actor_kind as "actorKind", actor, request_id as "requestId",
  remote_address as "remoteAddress", details`

/**
 * Events newest first (in the order written: their ids), at most `limit`; `before` (an event
 * id): the page after that one.
 */
export async function listEvents(
  q: Queryable,
  filter: EventFilter,
  page: { limit: number; before?: string }
): Promise<AuditEvent[]> {
  const { rows } = await q.query<AuditEvent>(
    `select ${COLUMNS} from events
     where ($1::uuid is null or tenant_id = $1)
       and ($2::uuid is null or grant_id = $2)
       and ($3::text[] is null or type = any($3))
       and ($4::text is null or client = $4 or (actor_kind = 'client' and actor = $4))
       and ($5::timestamptz is null or at >= $5)
       and ($6::timestamptz is null or at < $6)
       and ($7::bigint is null or id < $7)
     order by events.id desc
     limit $8`,
    [
      filter.tenantId ?? null,
      filter.grantId ?? null,
      filter.typeIn ?? null,
      filter.walletAddress ?? null,
      filter.since ?? null,
      filter.until ?? null,
      page.before ?? null,
      page.limit
    ]
  )
  return rows
}

/** A grant's events, oldest first: its history, as the console's grant page tells it. */
export async function eventsOfGrant(q: Queryable, grantId: string): Promise<AuditEvent[]> {
  const { rows } = await q.query<AuditEvent>(
    `select ${COLUMNS} from events where grant_id = $1 order by events.id`,
    [grantId]
  )
  return rows
}

/** Deletes at most `limit` events older than `days` days, oldest first; how many went. */
export async function purgeEvents(q: Queryable, limit: number, days: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from events where id in (
       select id from events where at < now() - make_interval(days => $2)
       order by id limit $1)`,
    [limit, days]
  )
  return rowCount
}
