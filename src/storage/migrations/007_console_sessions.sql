-- Operator console sessions. The browser holds a random session id in a signed cookie; only its
-- SHA-256 hash is stored, so a copy of this table opens no session. A session ends at sign-out
-- (its row is deleted), when it expires (idle or absolute, `expires_at`), or when its tenant's
-- API secret changes (`secret_check`, a keyed hash of the secret it was opened with).
create table console_sessions (
  id_hash bytea primary key,
  tenant_id uuid not null references tenants (id),
  secret_check bytea not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index console_sessions_expires_at_idx on console_sessions (expires_at);
create index console_sessions_tenant_id_idx on console_sessions (tenant_id);
