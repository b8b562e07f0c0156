import { createBenchDatabase } from '../../bench/database.js'
import type { Db } from '../../src/storage/db.js'
import { readPostmasterPid } from '../../src/storage/embedded/postmaster-pid.js'
import { clusterDir } from '../../src/storage/embedded/embedded-db.js'
import type { DbKind } from './options.js'

/** The database one crash run uses: created fresh, always removed at the end. */
export interface CrashDatabase {
  kind: DbKind
  /** For the report: which database, where. */
  description: string
  /** The environment that points opas at it, unchanged across restarts. */
  env: Record<string, string>
  /** Opens it with the project's adapter. The embedded one has one owner: only while opas is down. */
  open(): Promise<Db>
  /** The embedded server's process id now (undefined on PostgreSQL, or while it is down). */
  serverPid(): number | undefined
  dispose(): Promise<void>
}

const DEFAULT_SERVER = 'postgresql://postgres@127.0.0.1:5432/postgres'
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** The PostgreSQL server named by the environment, as opas itself reads it. */
export function postgresServerUrl(): string {
  const url = process.env.AUTH_DATABASE_URL || process.env.DATABASE_URL || DEFAULT_SERVER
  // The test creates and drops databases: it must never touch a server on another machine.
  const host = new URL(url).hostname
  if (!LOOPBACK.has(host)) throw new Error(`refusing PostgreSQL server ${host}: 127.0.0.1 only`)
  return url
}

/** A fresh database (the benchmark's helper, named `opas_crash_…`), always removed at the end. */
export async function createCrashDatabase(kind: DbKind): Promise<CrashDatabase> {
  const db = await createBenchDatabase(
    kind === 'postgres' ? postgresServerUrl() : undefined,
    'crash'
  )
  return {
    kind,
    description: db.description,
    env: db.env,
    open: () => db.open(),
    serverPid: () => {
      if (db.env.DATA_DIR === undefined) return undefined
      const pid = Number(readPostmasterPid(clusterDir(db.env.DATA_DIR))?.[0])
      return Number.isInteger(pid) && pid > 0 ? pid : undefined
    },
    dispose: () => db.dispose(false).then(() => undefined)
  }
}
