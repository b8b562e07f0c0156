-- Issue 25: where `opas import rafiki` has got to, per Rafiki database.
-- * A run that was stopped (Ctrl-C, a lost connection, a crash) resumes where its last committed
--   batch ended instead of reading everything again. Each batch updates the row in the
--   transaction that writes the batch, so the position never runs ahead of what opas holds.
-- * The run after a finished one reads only the rows Rafiki changed since that one began (by
--   Rafiki's "updatedAt", which it sets on every insert and update), so the delta just before
--   the cutover takes seconds, not the time of the whole import.
create table rafiki_imports (
  -- The Rafiki database, as host, port and database name (never its credentials).
  source text primary key,
  -- The Rafiki table being read, and the id of its last row written (null: none yet).
  phase text not null,
  after_id uuid,
  -- This run reads rows whose "updatedAt" is at or after this (null: every row).
  since timestamptz,
  -- When this run's first snapshot of Rafiki was taken, by Rafiki's database clock.
  snapshot_at timestamptz not null,
  started_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz
);
