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
-- Rows arrive in about the order of their transactions: a BRIN index costs the insert next to
-- nothing (the `at` index measured so) and finds a range of transactions in a few page ranges.
create index events_xid_brin on events using brin (xid);

-- How far the deliverer has read: every transaction below `xid` is done with. One row; the
-- deliverer holds it (a transaction-level advisory lock) while it sends, so that with several
-- opas processes on one database one of them reads and sends each event. It starts at 0: the
-- events written before this migration have no xid and are never sent; every later one is.
create table webhook_cursor (
  singleton boolean primary key default true check (singleton),
  xid bigint not null default 0,
  -- The namespace of the webhooks' ids, each derived from its event's number (UUID v5): an
  -- event sent again after a crash, before its delivery was written down, keeps its id.
  id_namespace uuid not null default gen_random_uuid(),
  updated_at timestamptz not null default now()
);
insert into webhook_cursor (singleton) values (true);

-- One row for each event sent (or to be sent): its delivery's state. An event delivered at the
-- first attempt is written once, with the others of its batch; one that failed waits here for
-- its next attempt.
create table webhook_deliveries (
  -- The webhook's id (its body's `id`), the same on every attempt.
  id uuid primary key,
  -- The audit event it tells of: sent once (a later read skips an event with a row here).
  event_id bigint not null unique,
  -- Whose: the tenant whose webhook URL receives it (null: WEBHOOK_URL, the operator's).
  tenant_id uuid,
  -- Deliveries of one key go in the order of their events: the grant's id, or for a tenant's
  -- own events the tenant's.
  order_key uuid not null,
  type text not null,
  -- The body's `data`, as first built: every attempt sends the same body.
  data jsonb not null,
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
-- The due deliveries, and the ones waiting behind them (the same key, an earlier event).
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
  where state = 'pending';
create index webhook_deliveries_pending_key_idx on webhook_deliveries (order_key, event_id)
  where state = 'pending';
-- The console's listing, newest first, the whole server's (the unique index on event_id) or one
-- tenant's; and retention.
create index webhook_deliveries_tenant_idx on webhook_deliveries (tenant_id, event_id desc);
create index webhook_deliveries_created_idx on webhook_deliveries (created_at);

-- A tenant's own receiver (the service API, the console, the CLI): its events go there instead
-- of WEBHOOK_URL, signed with its own secret (sealed as its API secret is), so that one
-- tenant's receiver cannot forge another's webhooks.
alter table tenants add column webhook_url text;
alter table tenants add column webhook_secret_encrypted bytea;
