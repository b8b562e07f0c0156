import { setTimeout as sleep } from 'node:timers/promises'
import { createBenchDatabase, postgresSize } from './database.js'
import { treePssBytes, treeRssBytes } from './proc-stats.js'
import type { Startup } from './report.js'
import { ed25519Floor, embeddedInsertFloor, postgresInsertFloor, type Floors } from './floors.js'
import { BENCH_TENANT_ID, startOpas } from './opas-process.js'
import type { Options } from './options.js'
import { prefill, type PrefillResult } from './prefill.js'
import type { Target } from './scenarios.js'
import { keepLastCpuForReceiver } from './receiver-cpu.js'
import { BENCH_WEBHOOK_SECRET, startBenchReceiver } from './webhook-receiver.js'

/** What the scenarios run against, and how to read its process and its database. */
export interface Subject {
  target: Target
  database: string
  pid: number | undefined
  dbSize: () => Promise<number | undefined>
  floors: Floors
  prefill: PrefillResult | undefined
  /**
   * opas's start (the first on a fresh data directory: the embedded database is created then,
   * unless a prefill created it), and the memory of its whole process tree (its database
   * server's processes included) once started, before any load.
   */
  startup?: Startup
  /** Throws when the server died: the remaining runs would measure nothing. */
  check: () => void
  warnings: (() => { count: number; last: string | undefined }) | undefined
}

export type Cleanup = () => Promise<unknown>

interface Hooks {
  log: (line: string) => void
  interrupted: () => boolean
  /** Registers what must be undone at the end, even after a failure. */
  cleanups: Cleanup[]
}

/** "PostgreSQL 15.4 (...)" without the database name. */
const serverOf = (description: string) => description.replace(/, database .*/, '')

async function prefillDatabase(
  db: Awaited<ReturnType<typeof createBenchDatabase>>,
  count: number,
  hooks: Hooks
): Promise<PrefillResult> {
  // The embedded database has one owner: its data directory is filled before opas opens it.
  const handle = await db.open()
  try {
    const result = await prefill(
      handle,
      {
        count,
        tenantId: BENCH_TENANT_ID,
        // Stored only (the finish hash input of interactive grants); never called.
        grantUri: `http://127.0.0.1:3006/${BENCH_TENANT_ID}`,
        interrupted: hooks.interrupted
      },
      hooks.log
    )
    hooks.log(
      `prefill: ${result.grants} grants, ${result.accesses} access rows, ${result.tokens} tokens, ` +
        `${result.interactions} interactions in ${result.seconds.toFixed(1)} s`
    )
    return result
  } finally {
    await handle.close()
  }
}

/** A fresh database (prefilled on request), the floors, then opas started on it. */
export async function prepareOpas(options: Options, hooks: Hooks): Promise<Subject> {
  const baseUrl = process.env.AUTH_DATABASE_URL || process.env.DATABASE_URL || undefined
  const db = await createBenchDatabase(baseUrl)
  hooks.cleanups.push(async () => {
    const note = await db.dispose(options.keepDb)
    if (note) hooks.log(note)
  })
  hooks.log(`database: ${db.description}`)
  const prefilled =
    options.prefill > 0 ? await prefillDatabase(db, options.prefill, hooks) : undefined
  // Floors before opas starts, so nothing else of ours competes for the CPU or the disk.
  const floors: Floors = {
    ed25519VerifyPerSec: ed25519Floor(options.floorSeconds.verify),
    ...(db.url === undefined
      ? {
          insertTxPerSec: await embeddedInsertFloor(options.floorSeconds.insert),
          insertDatabase: db.description.replace(/ in .*/, '')
        }
      : {
          insertTxPerSec: await postgresInsertFloor(db.url, options.floorSeconds.insert),
          insertDatabase: serverOf(db.description)
        })
  }
  if (options.workers > 1 && db.env.AUTH_DATABASE_URL === undefined) {
    throw new Error(
      '--workers needs PostgreSQL: set AUTH_DATABASE_URL (an embedded database serves one process)'
    )
  }
  const receiverCpu = options.receiverCpu ? keepLastCpuForReceiver() : undefined
  const receiver = options.webhooks ? await startBenchReceiver(receiverCpu) : undefined
  const opas = await startOpas(
    db.env,
    options.workers,
    options.cpuProfDir,
    receiver ? { WEBHOOK_URL: receiver.url, WEBHOOK_SIGNATURE_SECRET: BENCH_WEBHOOK_SECRET } : {}
  )
  hooks.cleanups.push(() => opas.stop())
  if (receiver) {
    hooks.cleanups.push(async () =>
      hooks.log(`webhooks: the receiver got ${await receiver.stop()} in all`)
    )
  }
  // Settled: the first second after start allocates what a server keeps.
  await sleep(2000)
  const startup = {
    ms: opas.startMs,
    firstStart: db.kind === 'embedded' && prefilled === undefined,
    idleRssBytes: treeRssBytes(opas.pid),
    idlePssBytes: treePssBytes(opas.pid)
  }
  return {
    target: {
      kind: 'opas',
      grantUrl: opas.grantUrl,
      introspectUrl: `${opas.introspectionUrl}/`,
      adminUrl: `${opas.adminUrl}/graphql`
    },
    database: `${db.description}${receiverNote(receiver !== undefined, receiverCpu)}`,
    pid: opas.pid,
    dbSize: () => db.sizeBytes().catch(() => undefined),
    floors,
    prefill: prefilled,
    startup,
    check() {
      if (opas.alive()) return
      const output = opas.output().trim()
      throw new Error(
        `opas ended (${opas.exitStatus()}) during the benchmark` +
          (output ? `; its last output:\n${output}` : ' without output')
      )
    },
    warnings: opas.warnings
  }
}

/**
 * The floor server, already running at --url. Its INSERT floor runs in a scratch database of
 * its own on the floor's PostgreSQL server (--db, else AUTH_DATABASE_URL / DATABASE_URL), so no
 * table is ever left in anyone's database.
 */
export async function prepareFloorTarget(options: Options): Promise<Subject> {
  const url = new URL(options.url!).origin
  const floorDb = options.floorDb
  const baseUrl = floorDb ?? (process.env.AUTH_DATABASE_URL || process.env.DATABASE_URL)
  let inserts: Pick<Floors, 'insertTxPerSec' | 'insertDatabase'> = {
    insertTxPerSec: [],
    insertDatabase: 'the floor server database (give --db)'
  }
  if (baseUrl) {
    const scratch = await createBenchDatabase(baseUrl)
    try {
      inserts = {
        insertTxPerSec: await postgresInsertFloor(scratch.url!, options.floorSeconds.insert),
        insertDatabase: serverOf(scratch.description)
      }
    } finally {
      await scratch.dispose(false)
    }
  }
  return {
    target: { kind: 'floor', grantUrl: `${url}/`, introspectUrl: `${url}/introspect` },
    database: floorDb ? `the floor server's (${new URL(floorDb).pathname.slice(1)})` : 'unknown',
    pid: options.pid,
    dbSize: async () => (floorDb ? postgresSize(floorDb) : undefined),
    floors: { ed25519VerifyPerSec: ed25519Floor(options.floorSeconds.verify), ...inserts },
    prefill: undefined,
    check() {},
    warnings: undefined
  }
}

/** How the run was set up for webhooks, for the report's heading. */
function receiverNote(webhooks: boolean, cpu: number | undefined): string {
  const apart = cpu === undefined ? '' : `CPU ${cpu} kept for the receiver, the others for the rest`
  if (!webhooks) return apart ? `; webhooks off (${apart})` : ''
  return `; webhooks on (a receiver answering 200${apart ? `; ${apart}` : ', beside opas'})`
}
