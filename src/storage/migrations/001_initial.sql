-- opas schema, version 1.
-- Text columns are `text`, never varchar(n): a long but valid URL must not overflow (Rafiki's
-- varchar(255) turned long finish URIs and identifiers into 500s). Tokens and secrets are stored
-- only as SHA-256 hashes (bytea). Every foreign key and every lookup column is indexed.

create table tenants (
  id uuid primary key,
  idp_consent_url text,
  idp_secret_hash bytea,
  api_secret text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

-- Settings generated on a development first start (secrets, operator tenant id), shared by every
-- process on the database.
create table generated_settings (
  name text primary key,
  value text not null,
  created_at timestamptz not null default now()
);

create table grants (
  id uuid primary key,
  tenant_id uuid not null references tenants (id),
  state text not null check (state in ('PROCESSING', 'PENDING', 'APPROVED', 'FINALIZED')),
  finalization_reason text check (finalization_reason in ('ISSUED', 'REVOKED', 'REJECTED')),
  start_method text[],
  continue_id uuid not null unique,
  continue_token_hash bytea not null unique,
  finish_method text,
  finish_uri text,
  client_nonce text,
  -- The grant endpoint URI the client used: part of the finish hash (RFC 9635 §4.2.3).
  grant_uri text not null,
  client text,
  client_name text,
  jwk jsonb,
  last_continued_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (client is not null or jwk is not null),
  check ((state = 'FINALIZED') = (finalization_reason is not null))
);
create index grants_tenant_id_idx on grants (tenant_id);
create index grants_created_at_idx on grants (created_at);

create table accesses (
  id uuid primary key,
  grant_id uuid not null references grants (id) on delete cascade,
  position smallint not null,
  type text not null,
  actions text[] not null,
  identifier text,
  limits jsonb,
  created_at timestamptz not null default now(),
  unique (grant_id, position)
);
create index accesses_identifier_idx on accesses (identifier);

create table subjects (
  id uuid primary key,
  grant_id uuid not null references grants (id) on delete cascade,
  position smallint not null,
  sub_id text not null,
  sub_id_format text not null,
  created_at timestamptz not null default now(),
  unique (grant_id, position)
);

create table access_tokens (
  id uuid primary key,
  grant_id uuid not null references grants (id) on delete cascade,
  value_hash bytea not null unique,
  management_id uuid not null unique,
  expires_in integer not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index access_tokens_grant_id_idx on access_tokens (grant_id);
create index access_tokens_created_at_idx on access_tokens (created_at);

create table interactions (
  id uuid primary key,
  grant_id uuid not null references grants (id) on delete cascade,
  ref uuid not null unique,
  nonce text not null,
  state text not null check (state in ('PENDING', 'APPROVED', 'DENIED')),
  expires_in integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index interactions_grant_id_idx on interactions (grant_id);
create index interactions_created_at_idx on interactions (created_at);
