-- Issue 27: events in the order they were written. One statement may write two events of the
-- same change (a grant requested and issued at once; a continuation that issues the token), and
-- they share the transaction's time (`at`); their time-ordered ids (opas_uuid_v7) are random
-- within a millisecond, so a grant's history could show "issued" before "requested". `seq` is
-- taken from a sequence as each row is inserted: within a statement and a transaction it is the
-- order of writing, and across transactions it follows `at` closely enough to break its ties.
alter table events add column seq bigint generated always as identity;

-- The listings order by (at, seq) and page by it (the cursor is still an event's id, looked up
-- by the primary key). seq (8 bytes) replaces id (16) in the ordering indexes.
drop index events_at_idx;
drop index events_tenant_at_idx;
drop index events_grant_idx;
drop index events_client_idx;
create index events_at_idx on events (at desc, seq desc);
create index events_tenant_at_idx on events (tenant_id, at desc, seq desc);
create index events_grant_idx on events (grant_id, at, seq) where grant_id is not null;
create index events_client_idx on events (client, at desc, seq desc) where client is not null;
