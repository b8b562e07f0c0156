-- Issue 24: generated settings leave the database. TENANT_SECRETS_KEY seals the tenant secrets
-- stored here and COOKIE_KEY signs the sessions stored here: a key kept beside what it protects
-- protects nothing. Their values now live in DATA_DIR/generated.env, a file only opas's user may
-- read; opas moves a value found here into that file at its next start and clears it here.
-- What stays is a fingerprint (SHA-256), so that a process holding other values (another
-- DATA_DIR on the same PostgreSQL) is refused instead of quietly using other keys, and when the
-- settings were first shown (a first start that failed shows them again at the next).
alter table generated_settings alter column value drop not null;
alter table generated_settings add column fingerprint text;
alter table generated_settings add column announced_at timestamptz;
-- Settings already generated were shown by the start that generated them.
update generated_settings set announced_at = created_at;
