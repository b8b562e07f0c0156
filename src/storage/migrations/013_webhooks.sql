-- Issue 28: the audit trail's events delivered as signed webhooks, after their change commits.
--
-- The grant and rotation paths must not pay for webhooks (within 5 % of webhooks off): they
-- write no delivery row. A deliverer reads the committed events afterwards. Ids do not say what
-- has committed (a sequence number is drawn when a row is inserted, and transactions commit in
-- any order), so each event records the transaction that wrote it: every transaction below the
-- oldest one still running (pg_snapshot_xmin) has ended, and its events are all visible. The
-- deliverer reads the events of the transactions between its cursor and that horizon, and moves
-- the cursor up to it: each committed event once, none of a rolled-back change.
-- The full (epoch-extended) transaction id, as a bigint: xid8 has no BRIN operator class.
alter table events add column xid bigint;
-- Existing events keep a null xid: none of them is sent when webhooks are first turned on.
alter table events alter column xid set default pg_current_xact_id()::text::bigint;
-- The deliverer reads the events of a range of transactions several times a second: a btree
-- finds exactly them. (A BRIN index costs the insert less, but its newest page ranges stay
-- unsummarized until a vacuum, and each read then scans all of them: measured, that cost the
-- grant path more than this index does.) Keys arrive nearly in order, so an insert touches the
-- rightmost page.
create index events_xid_idx on events (xid);

-- How far the deliverer has read: every transaction below `xid` is done with. One row; the
-- deliverer holds it (a transaction-level advisory lock) while it sends, so that with several
-- opas processes on one database one of them reads and sends each event. It starts at 0: the
-- events written before this migration have no xid and are never sent; every later one is.
create table webhook_cursor (
  singleton boolean primary key default true check (singleton),
  xid bigint not null default 0,
  -- The namespace of the webhooks' ids, each derived from it and its event's number (a UUIDv8,
  -- webhook-events.ts): an event sent again after a crash, before its delivery was written
  -- down, keeps its id, and a delivery is found by its id without an index of its own.
  id_namespace uuid not null default gen_random_uuid(),
  updated_at timestamptz not null default now()
);
insert into webhook_cursor (singleton) values (true);

-- One row for each event sent (or to be sent): its delivery's state. An event delivered at the
-- first attempt is written with the others of its batch, in one statement, as a narrow row (no
-- body: it will not be sent again); one that failed keeps its body for its retries.
create table webhook_deliveries (
  -- The audit event it tells of: sent once (a later read skips an event with a row here).
  event_id bigint primary key,
  -- The webhook's id (its body's `id`), the same on every attempt, derived from the event.
  id uuid not null,
  -- Whose: the tenant whose webhook URL receives it (null: WEBHOOK_URL, the operator's).
  tenant_id uuid,
  -- The grant it tells of (null: a tenant's own event), for the console.
  grant_id uuid,
  -- Deliveries of one key go in the order of their events: the grant's id, or for a tenant's
  -- own events the tenant's.
  order_key uuid not null,
  type text not null,
  -- The body's `data` while it may be sent again (pending, failed): every attempt sends the
  -- same body. Null for one delivered at the first attempt.
  data jsonb,
  created_at timestamptz not null default now(),
  -- pending (to be tried at next_attempt_at), delivered (a 200), failed (given up).
  state text not null check (state in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz,
  -- A pending delivery being tried by a process until then; another may take it after.
  leased_until timestamptz,
  last_attempt_at timestamptz,
  -- The last attempt's HTTP status (null: no answer) and what went wrong, in words.
  last_status integer,
  last_error text,
  delivered_at timestamptz
);
-- The due deliveries, and the ones waiting behind them (the same key, an earlier event): only
-- the pending ones, so a delivered row costs these nothing.
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
  where state = 'pending';
create index webhook_deliveries_pending_key_idx on webhook_deliveries (order_key, event_id)
  where state = 'pending';
-- A tenant's own deliveries, newest first (the operator's listing reads the primary key).
create index webhook_deliveries_tenant_idx on webhook_deliveries (tenant_id, event_id)
  where tenant_id is not null;
-- Retention: rows arrive in time order, so a BRIN index finds the old ones for next to nothing.
create index webhook_deliveries_created_brin on webhook_deliveries using brin (created_at);

-- A tenant's own receiver (the service API, the console, the CLI): its events go there instead
-- of WEBHOOK_URL, signed with its own secret (sealed as its API secret is), so that one
-- tenant's receiver cannot forge another's webhooks.
alter table tenants add column webhook_url text;
alter table tenants add column webhook_secret_encrypted bytea;
