import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Db, Queryable } from './db.js'

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url))

// Any constant works; it only has to be the same in every opas process sharing the database.
const MIGRATION_LOCK_KEY = 7_206_351_001

export interface Migration {
  version: number
  name: string
  sql: string
}

/** The numbered forward-only SQL files, in order. */
export function listMigrations(): Migration[] {
  return readdirSync(migrationsDir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file, 10),
      name: file.replace(/\.sql$/, ''),
      sql: readFileSync(migrationsDir + file, 'utf8')
    }))
}

/**
 * Applies pending migrations, each in its own transaction. An advisory lock makes concurrent
 * starts of several opas processes on one database apply each migration exactly once.
 * Returns the names applied; `onPending` hears what is about to be applied (nothing when none).
 */
export async function migrate(db: Db, onPending?: (names: string[]) => void): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    return applyMigrations(tx, listMigrations(), onPending)
  })
}

/**
 * Applies those of `migrations` not yet recorded in `opas_migrations` (created when missing) and
 * records them; the caller holds the transaction and the lock. Tests use it to build a database
 * at an earlier schema.
 */
export async function applyMigrations(
  q: Queryable,
  migrations: readonly Migration[],
  onPending?: (names: string[]) => void
): Promise<string[]> {
  await q.query(`create table if not exists opas_migrations (
    version integer primary key,
    name text not null,
    applied_at timestamptz not null default now()
  )`)
  const { rows } = await q.query<{ version: number }>('select version from opas_migrations')
  const applied = new Set(rows.map((r) => r.version))
  const pending = migrations.filter((m) => !applied.has(m.version))
  if (pending.length > 0) onPending?.(pending.map((m) => m.name))
  for (const m of pending) {
    await q.exec(m.sql)
    await q.query('insert into opas_migrations (version, name) values ($1, $2)', [
      m.version,
      m.name
    ])
  }
  return pending.map((m) => m.name)
}

/** The newest migration applied to the database (0 when none). */
export async function appliedVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    'select coalesce(max(version), 0)::int as version from opas_migrations'
  )
  return rows[0]?.version ?? 0
}

/** The newest migration this build carries. */
export const latestVersion = (): number => Math.max(0, ...listMigrations().map((m) => m.version))

/** Migrations not yet applied (a manual-migration start refuses to run with any). */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ exists: boolean }>(
    "select to_regclass('opas_migrations') is not null as exists"
  )
  const applied = new Set<number>()
  if (rows[0]?.exists) {
    const r = await db.query<{ version: number }>('select version from opas_migrations')
    for (const row of r.rows) applied.add(row.version)
  }
  return listMigrations()
    .filter((m) => !applied.has(m.version))
    .map((m) => m.name)
}
