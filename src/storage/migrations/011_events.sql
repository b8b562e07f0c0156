-- Issue 27: the audit trail. One row for every change of state (a grant's life, a tenant's, an
-- operator's session), written in the transaction, or the statement, that makes the change: no
-- row describes a change that was rolled back, and no committed change lacks its row. Read by
-- the console, `opas events list` and an auditor; deleted by the retention job after
-- EVENT_RETENTION_DAYS.
create table events (
  -- Time-ordered (opas_uuid_v7): the order events were written in, within a millisecond too.
  id uuid primary key,
  -- The transaction's time, as the change's own timestamps (now()).
  at timestamptz not null default now(),
  -- What happened: `grant.requested`, `token.rotated`, `tenant.updated`, `console.signed_in`…
  type text not null,
  -- Whose it is (null: a sign-in refused for a tenant id that does not exist).
  tenant_id uuid,
  -- The grant it concerns, if any. No foreign key: the trail outlives a grant the retention job
  -- deletes (its `grant.purged` event says so).
  grant_id uuid,
  -- The client's wallet address (or `jwk:<kid>` for a directed-identity client), for a grant's
  -- events: what a wallet's support staff search by.
  client text,
  -- Who acted: client, idp, admin-api, service-api, console, cli, retention, account-holder.
  actor_kind text not null,
  -- Which one: a wallet address or key thumbprint, a tenant id, `user@host` for the CLI.
  actor text,
  -- The request that made the change (its x-request-id) and where it came from.
  request_id text,
  remote_address text,
  -- What changed, in the event's own words (the fields of a tenant changed, never a secret).
  details jsonb not null default '{}'::jsonb
);

-- Newest first, whole server (the operator) and per tenant (a tenant's own trail).
create index events_at_idx on events (at desc, id desc);
create index events_tenant_at_idx on events (tenant_id, at desc, id desc);
-- A grant's history, oldest first.
create index events_grant_idx on events (grant_id, at, id) where grant_id is not null;
-- A wallet's events.
create index events_client_idx on events (client, at desc, id desc) where client is not null;
