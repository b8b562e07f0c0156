import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { verifyEd25519 } from '../src/http-signatures/ed25519.js'
import { startServer } from '../src/storage/embedded/postgres-server.js'

/** The limits a request can at best reach on this machine, measured in the same run. */
export interface Floors {
  /** Ed25519 verifications per second on one core, with the implementation opas uses. */
  ed25519VerifyPerSec: number
  /** Single-row INSERT transactions per second, by number of concurrent clients. */
  insertTxPerSec: { clients: number; perSec: number }[]
  /** Which database the INSERT floor ran on. */
  insertDatabase: string
}

/** Verifies one signature base of the size opas verifies (~300 bytes) as often as it can. */
export function ed25519Floor(seconds: number): number {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const base = Buffer.from(
    `"@method": POST\n"@target-uri": http://127.0.0.1:3006/\n"content-digest": sha-512=:${randomBytes(64).toString('base64')}:\n` +
      `"content-length": 180\n"content-type": application/json\n"@signature-params": ("@method" "@target-uri" "content-digest" "content-length" "content-type");keyid="bench";created=1700000000`
  )
  const signature = sign(null, base, privateKey)
  const started = performance.now()
  const until = started + seconds * 1000
  let count = 0
  // Bounded by time (checked every 100 verifications) and by a count no machine reaches.
  while (count < 10_000_000 && performance.now() < until) {
    for (let i = 0; i < 100; i++) {
      if (!verifyEd25519(base, publicKey, signature))
        throw new Error('Ed25519 floor: bad signature')
    }
    count += 100
  }
  return count / ((performance.now() - started) / 1000)
}

// A row like a token's: a random 32-byte hash, a uuid, a timestamp, under a unique index.
const SCRATCH_TABLE = 'opas_bench_scratch'
const CREATE_SCRATCH = `create table ${SCRATCH_TABLE} (
  id uuid primary key default gen_random_uuid(),
  hash bytea not null unique,
  created_at timestamptz not null default now())`
const INSERT_SCRATCH = `insert into ${SCRATCH_TABLE} (hash) values ($1)`

/** `clients` loops, each inserting one row per autocommit transaction until the time is up. */
async function insertLoops(
  clients: number,
  seconds: number,
  insert: (loop: number) => Promise<void>
): Promise<number> {
  const started = performance.now()
  const until = started + seconds * 1000
  let count = 0
  await Promise.all(
    Array.from({ length: clients }, async (_, loop) => {
      while (count < 10_000_000 && performance.now() < until) {
        await insert(loop)
        count++
      }
    })
  )
  return count / ((performance.now() - started) / 1000)
}

/**
 * On PostgreSQL: a scratch table in the bench database (dropped again, so it does not count in
 * the database size), at 1 and 16 clients, each with its own connection.
 */
export async function postgresInsertFloor(
  connection: string | pg.PoolConfig,
  seconds: number
): Promise<{ clients: number; perSec: number }[]> {
  const pool = new pg.Pool({
    ...(typeof connection === 'string' ? { connectionString: connection } : connection),
    max: 16
  })
  // pool.end() resolves before its connections have closed: a server stopped right after (the
  // embedded floor's) may still end one, which must not crash the bench.
  pool.on('error', () => {})
  try {
    await pool.query(CREATE_SCRATCH)
    const results = []
    for (const clients of [1, 16]) {
      const conns = await Promise.all(Array.from({ length: clients }, () => pool.connect()))
      try {
        const perSec = await insertLoops(clients, seconds, async (loop) => {
          await conns[loop]!.query({
            name: 'bench_insert',
            text: INSERT_SCRATCH,
            values: [randomBytes(32)]
          })
        })
        results.push({ clients, perSec })
      } finally {
        for (const c of conns) c.release()
      }
    }
    return results
  } finally {
    await pool.query(`drop table if exists ${SCRATCH_TABLE}`).catch(() => {})
    await pool.end()
  }
}

/**
 * On the embedded database: a server of its own, as opas would run it, in a temporary data
 * directory on the same disk (opas holds the bench one), at 1 and 16 clients.
 */
export async function embeddedInsertFloor(
  seconds: number
): Promise<{ clients: number; perSec: number }[]> {
  const root = mkdtempSync(join(tmpdir(), 'opas-bench-floor-'))
  const quiet = { debug() {}, info() {}, warn() {} }
  try {
    const server = await startServer({
      dir: join(root, 'postgres'),
      durable: true,
      maxConnections: 24,
      password: randomBytes(32).toString('base64url'),
      log: quiet
    })
    try {
      return await postgresInsertFloor(server.connection(), seconds)
    } finally {
      await server.stop()
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
