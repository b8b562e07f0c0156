import type { Queryable } from '../storage/db.js'
import { eventIdOfWebhook, type SourceEvent } from './webhook-events.js'

/*
 * The `webhook_cursor` and `webhook_deliveries` tables (migration 013). The webhook domain owns
 * them; it reads the audit trail's `events` (and a grant's `accesses`) by join, after the fact:
 * the change's own statement writes nothing for webhooks.
 */

/** An advisory lock's key: the deliverer reading new events (one process at a time). */
const DELIVERER_LOCK = 7_206_351_028

/**
 * Takes the right to read new events for this transaction, if no other process holds it (it
 * is not waited for): where they were read up to (a transaction id, as text), and the
 * namespace of the webhooks' ids. A transaction-level advisory lock takes no transaction id and
 * writes nothing, so a deliverer with nothing to do costs no write (and works behind a
 * transaction pooler).
 */
export async function lockCursor(
  q: Queryable
): Promise<
  { locked: false } | { locked: true; xid: string; idNamespace: string; updatedAt: Date }
> {
  const { rows } = await q.query<{
    locked: boolean
    xid: string
    idNamespace: string
    updatedAt: Date
  }>(
    `select pg_try_advisory_xact_lock($1) as locked, xid::text as xid,
       id_namespace::text as "idNamespace", updated_at as "updatedAt"
     from webhook_cursor`,
    [DELIVERER_LOCK]
  )
  const row = rows[0]!
  return row.locked ? { ...row, locked: true } : { locked: false }
}

/** Moves the cursor to `xid` (null: to the horizon of this statement). */
export async function moveCursor(q: Queryable, xid: string | null): Promise<void> {
  await q.query(
    `update webhook_cursor
     set xid = coalesce($1::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint),
       updated_at = now()`,
    [xid]
  )
}

const EVENT_COLUMNS = `e.id, e.at, e.type, e.tenant_id, e.grant_id, e.client, e.actor_kind,
  e.actor, e.details`

/**
 * The committed events of `types` written by transactions from `cursor` up to the horizon (the
 * oldest transaction still running, as this statement sees it: every one below it has ended,
 * so its events are all visible), and at most `window` transactions further, oldest first.
 *
 * Transaction ids say when a transaction first wrote, not when it committed: a change that
 * waited for a grant's lock may have taken its id before the change it waited for, which is
 * then above the horizon although committed. So for each grant (or tenant) read, its earlier
 * committed events above the horizon are read too, and sent first: a grant's events go in their
 * order. An event already delivered (or queued) is left out, so one read early is not sent
 * again when the horizon passes it.
 *
 * `blocked`: its key has a delivery waiting for a retry, behind which it must queue.
 */
export async function readCommitted(
  q: Queryable,
  cursor: string,
  window: number,
  types: readonly string[]
): Promise<{ horizon: string; events: Array<SourceEvent & { blocked: boolean }> }> {
  const { rows } = await q.query<{
    horizon: string
    events: Array<SourceEvent & { blocked: boolean }>
  }>(
    `with bound as (
       select least(pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
         $1::bigint + $2::integer) as h
     ),
     fresh as (
       select ${EVENT_COLUMNS} from events e, bound
       where e.xid >= $1::bigint and e.xid < bound.h and e.type = any($3::text[])
     ),
     last_of_grant as (
       select grant_id, max(id) as last from fresh where grant_id is not null group by grant_id
     ),
     last_of_tenant as (
       select tenant_id, max(id) as last from fresh where grant_id is null group by tenant_id
     ),
     found as (
       select * from fresh
       union all
       select ${EVENT_COLUMNS} from events e join last_of_grant l on e.grant_id = l.grant_id, bound
       where e.id < l.last and e.xid >= bound.h and e.type = any($3::text[])
       union all
       select ${EVENT_COLUMNS} from events e join last_of_tenant l on e.tenant_id = l.tenant_id, bound
       where e.grant_id is null and e.id < l.last and e.xid >= bound.h and e.type = any($3::text[])
     )
     select (select h::text from bound) as horizon,
       coalesce((select json_agg(x order by x.n) from (
         select f.id as n, f.id::text as id, f.at, f.type, f.tenant_id as "tenantId",
           f.grant_id as "grantId", f.client, f.actor_kind as "actorKind", f.actor,
           -- Only a tenant's event tells of its details (which fields changed).
           case when f.grant_id is null then f.details else '{}' end as details,
           (select json_agg(json_build_object('type', a.type, 'actions', a.actions,
              'identifier', a.identifier, 'limits', a.limits) order by a.position)
            from accesses a where a.grant_id = f.grant_id) as access,
           exists (select 1 from webhook_deliveries d
             where d.state = 'pending' and d.order_key = coalesce(f.grant_id, f.tenant_id)) as blocked
         from found f
         where not exists (select 1 from webhook_deliveries d where d.event_id = f.id)
       ) x), '[]'::json) as events`,
    [cursor, window, types]
  )
  return rows[0]!
}

/** A delivery as written: after its first attempt, or queued behind an earlier one. */
export interface NewDelivery {
  id: string
  eventId: string
  tenantId: string | null
  grantId: string | null
  orderKey: string
  type: string
  /** Kept while it may be sent again; null once delivered at the first attempt. */
  data: Record<string, unknown> | null
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: Date | null
  lastAttemptAt: Date | null
  lastStatus: number | null
  lastError: string | null
  deliveredAt: Date | null
}

/**
 * Writes deliveries in one statement (arrays, not a JSON document: a pass writes hundreds); one
 * already written for an event is left as it is.
 */
export async function insertDeliveries(q: Queryable, rows: NewDelivery[]): Promise<void> {
  if (rows.length === 0) return
  const column = <T>(pick: (row: NewDelivery) => T): T[] => rows.map(pick)
  // Times go as milliseconds since the epoch: a number is read for a fraction of what a
  // timestamp's text costs, here and in the driver.
  const ms = (date: Date | null) => (date === null ? null : date.getTime())
  await q.query(
    `insert into webhook_deliveries (event_id, id, tenant_id, grant_id, order_key, type, data,
       state, attempts, next_attempt_at, last_attempt_at, last_status, last_error, delivered_at)
     select event_id, id, tenant_id, grant_id, order_key, type, data, state, attempts,
       to_timestamp(next_ms / 1000), to_timestamp(last_ms / 1000), last_status, last_error,
       to_timestamp(delivered_ms / 1000)
     from unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
       $6::text[], $7::jsonb[], $8::text[], $9::integer[], $10::float8[],
       $11::float8[], $12::integer[], $13::text[], $14::float8[])
       as r(event_id, id, tenant_id, grant_id, order_key, type, data, state, attempts, next_ms,
         last_ms, last_status, last_error, delivered_ms)
     on conflict (event_id) do nothing`,
    [
      column((r) => r.eventId),
      column((r) => r.id),
      column((r) => r.tenantId),
      column((r) => r.grantId),
      column((r) => r.orderKey),
      column((r) => r.type),
      column((r) => (r.data === null ? null : JSON.stringify(r.data))),
      column((r) => r.state),
      column((r) => r.attempts),
      column((r) => ms(r.nextAttemptAt)),
      column((r) => ms(r.lastAttemptAt)),
      column((r) => r.lastStatus),
      column((r) => r.lastError),
      column((r) => ms(r.deliveredAt))
    ]
  )
}

/** A pending delivery taken for an attempt (a pending one always keeps its body). */
export interface ClaimedDelivery {
  id: string
  eventId: string
  tenantId: string | null
  type: string
  data: Record<string, unknown>
  /** Attempts made before this one. */
  attempts: number
}

/**
 * Takes up to `limit` due deliveries for `leaseMs`, each the first pending one of its key (a
 * later one waits for it), skipping those another process is taking. A process that dies while
 * trying leaves its lease to run out; another then takes them.
 */
export async function claimDue(
  q: Queryable,
  limit: number,
  leaseMs: number
): Promise<ClaimedDelivery[]> {
  const { rows } = await q.query<ClaimedDelivery>(
    `update webhook_deliveries d set leased_until = now() + make_interval(secs => $2::float8 / 1000)
     from (
       select p.event_id from webhook_deliveries p
       where p.state = 'pending' and p.next_attempt_at <= now()
         and (p.leased_until is null or p.leased_until < now())
         and not exists (select 1 from webhook_deliveries b
           where b.state = 'pending' and b.order_key = p.order_key and b.event_id < p.event_id)
       order by p.next_attempt_at, p.event_id
       limit $1
       for update of p skip locked
     ) c
     where d.event_id = c.event_id
     returning d.id, d.event_id::text as "eventId", d.tenant_id as "tenantId", d.type, d.data,
       d.attempts`,
    [limit, leaseMs]
  )
  return rows
}

/** What one attempt at a claimed delivery came to. */
export interface AttemptOutcome {
  eventId: string
  state: 'pending' | 'delivered' | 'failed'
  attemptedAt: Date
  status: number | null
  error: string | null
  nextAttemptAt: Date | null
}

/** Records attempts in one statement, each delivery's lease released. */
export async function recordAttempts(q: Queryable, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return
  await q.query(
    `update webhook_deliveries d set state = x.state, attempts = d.attempts + 1,
       last_attempt_at = x."attemptedAt", last_status = x.status, last_error = x.error,
       next_attempt_at = x."nextAttemptAt",
       delivered_at = case when x.state = 'delivered' then x."attemptedAt" end,
       leased_until = null
     from jsonb_to_recordset($1::jsonb) as x("eventId" bigint, state text,
       "attemptedAt" timestamptz, status integer, error text, "nextAttemptAt" timestamptz)
     where d.event_id = x."eventId" and d.state = 'pending'`,
    [JSON.stringify(outcomes)]
  )
}

/** A delivery as the console and the CLI show it. */
export interface DeliveryView {
  id: string
  eventId: string
  tenantId: string | null
  /** The grant it tells of (null: a tenant's own event). */
  grantId: string | null
  type: string
  createdAt: Date
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: Date | null
  leasedUntil: Date | null
  lastAttemptAt: Date | null
  lastStatus: number | null
  lastError: string | null
  deliveredAt: Date | null
  /** Pending behind an earlier pending delivery of its grant (or tenant): tried after it. */
  queued: boolean
}

const VIEW_COLUMNS = `d.id, d.event_id::text as "eventId", d.tenant_id as "tenantId",
  d.grant_id as "grantId", d.type, d.created_at as "createdAt", d.state, d.attempts, d.next_attempt_at as "nextAttemptAt",
  d.leased_until as "leasedUntil", d.last_attempt_at as "lastAttemptAt",
  d.last_status as "lastStatus", d.last_error as "lastError", d.delivered_at as "deliveredAt",
  d.state = 'pending' and exists (select 1 from webhook_deliveries b
    where b.state = 'pending' and b.order_key = d.order_key and b.event_id < d.event_id)
    as queued`

/** Which deliveries to list; every condition given must hold. */
export interface DeliveryFilter {
  /** Those to one tenant's own URL (undefined: every one, the operator's view). */
  tenantId?: string
  state?: DeliveryView['state']
  grantId?: string
}

/** Newest first (by their events' order), at most `limit`; `before`: an event id, the next page. */
export async function listDeliveries(
  q: Queryable,
  filter: DeliveryFilter,
  page: { limit: number; before?: string }
): Promise<DeliveryView[]> {
  const { rows } = await q.query<DeliveryView>(
    `select ${VIEW_COLUMNS} from webhook_deliveries d
     where ($1::uuid is null or d.tenant_id = $1)
       and ($2::text is null or d.state = $2)
       and ($3::uuid is null or d.event_id in (select e.id from events e where e.grant_id = $3))
       and ($4::bigint is null or d.event_id < $4)
     order by d.event_id desc
     limit $5`,
    [
      filter.tenantId ?? null,
      filter.state ?? null,
      filter.grantId ?? null,
      page.before ?? null,
      page.limit
    ]
  )
  return rows
}

/** One delivery by its webhook id (to one tenant's URL when `tenantId` is given). */
export async function findDelivery(
  q: Queryable,
  id: string,
  tenantId?: string
): Promise<DeliveryView | undefined> {
  const eventId = eventIdOfWebhook(id)
  if (eventId === undefined) return undefined
  const { rows } = await q.query<DeliveryView>(
    `select ${VIEW_COLUMNS} from webhook_deliveries d
     where d.event_id = $1 and d.id = $2 and ($3::uuid is null or d.tenant_id = $3)`,
    [eventId, id, tenantId ?? null]
  )
  return rows[0]
}

/**
 * A delivery tried again at once: a pending one not being tried now, or one given up (which
 * starts its retries afresh). False when there is none such (delivered, or being tried).
 */
export async function retryNow(
  q: Queryable,
  id: string,
  tenantId?: string
): Promise<
  { eventId: string; type: string; tenantId: string | null; grantId: string | null } | undefined
> {
  const eventId = eventIdOfWebhook(id)
  if (eventId === undefined) return undefined
  const { rows } = await q.query<{
    eventId: string
    type: string
    tenantId: string | null
    grantId: string | null
  }>(
    `update webhook_deliveries
     set next_attempt_at = now(),
       attempts = case when state = 'failed' then 0 else attempts end,
       state = 'pending'
     where event_id = $1 and id = $2 and ($3::uuid is null or tenant_id = $3)
       and (state = 'failed' or (state = 'pending' and (leased_until is null or leased_until < now())))
     returning event_id::text as "eventId", type, data->>'tenantId' as "tenantId",
       grant_id as "grantId"`,
    [eventId, id, tenantId ?? null]
  )
  return rows[0]
}

/** How many deliveries are in each state, and when the oldest undelivered one's event was written. */
export async function deliveryStats(q: Queryable): Promise<{
  pending: number
  delivered: number
  failed: number
  oldestPendingAt: Date | null
}> {
  const { rows } = await q.query<{
    pending: number
    delivered: number
    failed: number
    oldestPendingAt: Date | null
  }>(
    `select count(*) filter (where state = 'pending')::integer as pending,
       count(*) filter (where state = 'delivered')::integer as delivered,
       count(*) filter (where state = 'failed')::integer as failed,
       min(created_at) filter (where state = 'pending') as "oldestPendingAt"
     from webhook_deliveries`
  )
  return rows[0]!
}

/**
 * The write time of the oldest event not yet read by the deliverer (its transaction ended, or
 * not): with the oldest pending delivery, the age of what a receiver has not heard yet.
 */
export async function oldestUnreadEventAt(
  q: Queryable,
  types: readonly string[]
): Promise<Date | null> {
  const { rows } = await q.query<{ at: Date | null }>(
    `select min(e.at) as at from events e, webhook_cursor c
     where e.xid >= c.xid and e.type = any($1::text[])`,
    [types]
  )
  return rows[0]?.at ?? null
}

/** Deletes at most `limit` deliveries done with (delivered or given up) older than `days`. */
export async function purgeDeliveries(q: Queryable, limit: number, days: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from webhook_deliveries where event_id in (
       select event_id from webhook_deliveries
       where created_at < now() - make_interval(days => $2) and state <> 'pending'
       limit $1)`,
    [limit, days]
  )
  return rowCount
}
