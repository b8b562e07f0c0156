import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Db } from '../src/storage/db.js'
import { createEmbeddedDb } from '../src/storage/embedded/embedded-db.js'
import { postgresBinaries } from '../src/storage/embedded/postgres-binaries.js'
import { createPostgresDb } from '../src/storage/postgres-db.js'

/** The database one benchmark run uses: created fresh, dropped (or kept) at the end. */
export interface BenchDatabase {
  kind: 'postgres' | 'embedded'
  /** For the report: which database, where. */
  description: string
  /** The environment that points opas at it. */
  env: Record<string, string>
  /** PostgreSQL URL of the bench database (undefined on the embedded one). */
  url: string | undefined
  /** Opens it with the project's adapter. The embedded one has one owner: never while opas runs. */
  open(): Promise<Db>
  /** pg_database_size on PostgreSQL; bytes of the data directory's files when embedded. */
  sizeBytes(): Promise<number | undefined>
  /** Drops it, or with `keep` leaves it and says where it is. */
  dispose(keep: boolean): Promise<string | undefined>
}

/** Sum of the file sizes under `dir` (the embedded data directory: its whole cluster and WAL). */
function directoryBytes(dir: string): number {
  let total = 0
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0 // not created yet, or removed while we walked
  }
  for (const entry of entries) {
    const path = join(dir, entry.name)
    try {
      if (entry.isDirectory()) total += directoryBytes(path)
      else if (entry.isFile()) total += statSync(path).size
    } catch {
      // A file PostgreSQL removed while we walked (a recycled WAL segment) counts as nothing.
    }
  }
  return total
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** A fresh `opas_<purpose>_<random>` database on the server of `baseUrl`. */
async function createPostgres(baseUrl: string, purpose: string): Promise<BenchDatabase> {
  const name = `opas_${purpose}_${randomBytes(6).toString('hex')}`
  const version = await withClient(baseUrl, async (c) => {
    await c.query(`create database ${name}`)
    return (
      (await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ??
      '?'
    )
  })
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  let sizeClient: pg.Client | undefined
  return {
    kind: 'postgres',
    description: `PostgreSQL ${version}, database ${name} on ${url.host}`,
    env: {
      AUTH_DATABASE_URL: url.href,
      // Passed on, so that named and unnamed statements can be compared (README: PostgreSQL).
      ...(process.env.DATABASE_PREPARED_STATEMENTS !== undefined && {
        DATABASE_PREPARED_STATEMENTS: process.env.DATABASE_PREPARED_STATEMENTS
      })
    },
    url: url.href,
    open: async () => createPostgresDb(url.href, 4),
    async sizeBytes() {
      if (sizeClient === undefined) {
        sizeClient = new pg.Client({ connectionString: url.href })
        await sizeClient.connect()
      }
      const { rows } = await sizeClient.query<{ size: string }>(
        'select pg_database_size(current_database())::text as size'
      )
      return Number(rows[0]?.size)
    },
    async dispose(keep) {
      await sizeClient?.end().catch(() => {})
      if (keep) return `kept PostgreSQL database ${url.href}`
      // FORCE (PostgreSQL 13+) ends sessions a killed opas may have left behind.
      await withClient(baseUrl, (c) => c.query(`drop database if exists ${name} with (force)`))
      return undefined
    }
  }
}

/** A fresh temporary DATA_DIR for the embedded database (opas's default). */
function createEmbedded(purpose: string): BenchDatabase {
  const root = mkdtempSync(join(tmpdir(), `opas-${purpose}-`))
  const dataDir = join(root, 'data')
  return {
    kind: 'embedded',
    description: `embedded PostgreSQL ${postgresBinaries().version} in ${dataDir}`,
    env: { DATA_DIR: dataDir },
    url: undefined,
    open: () => createEmbeddedDb(dataDir, { poolSize: 4 }),
    sizeBytes: async () => directoryBytes(dataDir),
    async dispose(keep) {
      if (keep) return `kept embedded data directory ${dataDir} (DATA_DIR=${dataDir})`
      rmSync(root, { recursive: true, force: true })
      return undefined
    }
  }
}

/**
 * PostgreSQL when a base URL is given (AUTH_DATABASE_URL or DATABASE_URL), else the embedded
 * database. The
 * `purpose` names the database (`opas_<purpose>_<random>`) or the temporary directory.
 */
export async function createBenchDatabase(
  baseUrl: string | undefined,
  purpose = 'bench'
): Promise<BenchDatabase> {
  return baseUrl ? createPostgres(baseUrl, purpose) : createEmbedded(purpose)
}

/** Size of an existing PostgreSQL database (the floor server's), for the report. */
export async function postgresSize(url: string): Promise<number | undefined> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ size: string }>(
      'select pg_database_size(current_database())::text as size'
    )
    return Number(rows[0]?.size)
  }).catch(() => undefined)
}
