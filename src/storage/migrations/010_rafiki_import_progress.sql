-- Issue 25: where `opas import rafiki` has got to, per Rafiki database, so that a run that was
-- stopped (Ctrl-C, a lost connection, a crash) resumes where its last committed batch ended
-- instead of reading everything again. Each batch updates its row in the transaction that writes
-- the batch, so the position never runs ahead of what opas holds. `finished_at` is set when a run
-- completes; the next run then starts from the beginning (the delta run before the cutover).
create table rafiki_imports (
  -- The Rafiki database, as host, port and database name (never its credentials).
  source text primary key,
  -- The Rafiki table being read, and the id of its last row written (null: none yet).
  phase text not null,
  after_id uuid,
  started_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz
);
