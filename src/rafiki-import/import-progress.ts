import type { Queryable } from '../storage/db.js'
import type { RafikiTable } from './rafiki-rows.js'

/**
 * Where `opas import rafiki` has got to with one Rafiki database (table `rafiki_imports`): a
 * stopped run resumes after its last committed batch, and the run after a finished one reads
 * only what Rafiki changed since. The position is written in the batch's own transaction: it
 * never claims a row opas does not hold.
 */

export interface ImportRun {
  /** The Rafiki table being read, and its last row written (null: none yet). */
  phase: RafikiTable
  afterId: string | null
  /** Rows whose `updatedAt` is before this are not read (null: every row is). */
  since: Date | null
  /** The run's first snapshot of Rafiki, by Rafiki's clock. */
  snapshotAt: Date
  startedAt: Date
}

/** The last run from this source: unfinished (to resume), or the finished one before. */
export async function lastRun(
  q: Queryable,
  source: string
): Promise<(ImportRun & { finished: boolean }) | undefined> {
  const { rows } = await q.query<{
    phase: RafikiTable
    after_id: string | null
    since: Date | null
    snapshot_at: Date
    started_at: Date
    finished: boolean
  }>(
    `select phase, after_id, since, snapshot_at, started_at, finished_at is not null as finished
     from rafiki_imports where source = $1`,
    [source]
  )
  const row = rows[0]
  return (
    row && {
      phase: row.phase,
      afterId: row.after_id,
      since: row.since,
      snapshotAt: row.snapshot_at,
      startedAt: row.started_at,
      finished: row.finished
    }
  )
}

/** Records a run's start (a new one, or one resuming where it stopped). */
export async function startRun(q: Queryable, source: string, run: ImportRun): Promise<void> {
  await q.query(
    `insert into rafiki_imports
       (source, phase, after_id, since, snapshot_at, started_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, now())
     on conflict (source) do update set phase = excluded.phase, after_id = excluded.after_id,
       since = excluded.since, snapshot_at = excluded.snapshot_at,
       started_at = excluded.started_at, updated_at = now(), finished_at = null`,
    [source, run.phase, run.afterId, run.since, run.snapshotAt, run.startedAt]
  )
}

/** After a batch, in its transaction: `afterId` of `phase` and everything before are in opas. */
export async function advanceRun(
  q: Queryable,
  source: string,
  phase: RafikiTable,
  afterId: string
): Promise<void> {
  await q.query(
    'update rafiki_imports set phase = $2, after_id = $3, updated_at = now() where source = $1',
    [source, phase, afterId]
  )
}

export async function finishRun(q: Queryable, source: string): Promise<void> {
  await q.query(
    'update rafiki_imports set finished_at = now(), updated_at = now() where source = $1',
    [source]
  )
}
