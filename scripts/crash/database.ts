import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Db } from '../../src/storage/db.js'
import { createPgliteDb } from '../../src/storage/pglite-db.js'
import { createPostgresDb } from '../../src/storage/postgres-db.js'
import type { DbKind } from './options.js'

/** The database one crash run uses: created fresh, always removed at the end. */
export interface CrashDatabase {
  kind: DbKind
  /** For the report: which database, where. */
  description: string
  /** The environment that points opas at it, unchanged across restarts. */
  env: Record<string, string>
  /** Opens it with the project's adapter. PGlite is single-process: only while opas is down. */
  open(): Promise<Db>
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

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function createPostgres(serverUrl: string): Promise<CrashDatabase> {
  const name = `opas_crash_${randomBytes(6).toString('hex')}`
  const version = await withClient(serverUrl, async (c) => {
    await c.query(`create database ${name}`)
    const { rows } = await c.query<{ v: string }>("select current_setting('server_version') as v")
    return rows[0]?.v ?? '?'
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    kind: 'postgres',
    description: `PostgreSQL ${version}, database ${name} on ${url.host}`,
    env: { AUTH_DATABASE_URL: url.href },
    open: async () => createPostgresDb(url.href, 2),
    // FORCE (PostgreSQL 13+) ends the sessions a killed opas may have left behind.
    dispose: () =>
      withClient(serverUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(
        () => undefined
      )
  }
}

function createPglite(): CrashDatabase {
  const root = mkdtempSync(join(tmpdir(), 'opas-crash-'))
  const dataDir = join(root, 'data')
  return {
    kind: 'pglite',
    description: `PGlite in ${dataDir}`,
    env: { DATA_DIR: dataDir },
    open: () => createPgliteDb(dataDir),
    dispose: async () => rmSync(root, { recursive: true, force: true })
  }
}

export async function createCrashDatabase(kind: DbKind): Promise<CrashDatabase> {
  return kind === 'postgres' ? createPostgres(postgresServerUrl()) : createPglite()
}
