-- A tenant's API secret signs its admin API requests (HMAC), so it must stay usable as a key:
-- it is kept encrypted (AES-256-GCM under TENANT_SECRETS_KEY) instead of in plain text. Only the
-- operator tenant had one so far, and every start writes it again from the configuration.
alter table tenants drop column api_secret;
alter table tenants add column api_secret_encrypted bytea;
