-- Signatures already seen (RFC 9421 §7.2.2, RFC 9635 §7.3.1): a verified request signature is
-- recorded until its `created` leaves the freshness window, and the same signature seen again in
-- that time is refused. Shared by every opas process on this database.
--
-- UNLOGGED: a record lives at most SIGNATURE_MAX_AGE_SECONDS, and recording one must not cost a
-- WAL flush on every signed request. PostgreSQL keeps unlogged tables across clean restarts and
-- empties them only after its own crash; the README's security model says so.
create unlogged table signature_replays (
  signature bytea primary key,
  expires_at timestamptz not null
);
create index signature_replays_expires_at_idx on signature_replays (expires_at);
