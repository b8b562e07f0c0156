import type { Queryable } from '../storage/db.js'
import type { RafikiTable } from './rafiki-rows.js'

/**
 * Where `opas import rafiki` has got to with one Rafiki database (table `rafiki_imports`), so a
 * stopped run resumes after its last committed batch. The position is written in the batch's own
 * transaction: it never claims a row opas does not hold.
 */

export interface ImportPosition {
  /** The Rafiki table being read, and its last row written (null: none yet). */
  phase: RafikiTable
  afterId: string | null
  startedAt: Date
}

/** The position of an unfinished run from this source, if there is one. */
export async function unfinishedRun(
  q: Queryable,
  source: string
): Promise<ImportPosition | undefined> {
  const { rows } = await q.query<{ phase: RafikiTable; after_id: string | null; started_at: Date }>(
    'select phase, after_id, started_at from rafiki_imports where source = $1 and finished_at is null',
    [source]
  )
  const row = rows[0]
  return row && { phase: row.phase, afterId: row.after_id, startedAt: row.started_at }
}

/** Records a run's start: from the beginning, unless it resumes `position`. */
export async function startRun(
  q: Queryable,
  source: string,
  position: ImportPosition
): Promise<void> {
  await q.query(
    `insert into rafiki_imports (source, phase, after_id, started_at, updated_at)
     values ($1, $2, $3, $4, now())
     on conflict (source) do update set phase = excluded.phase, after_id = excluded.after_id,
       started_at = excluded.started_at, updated_at = now(), finished_at = null`,
    [source, position.phase, position.afterId, position.startedAt]
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
