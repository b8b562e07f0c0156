import { setTimeout as sleep } from 'node:timers/promises'
import { startWalletAddressServer } from '../../test/helpers/wallet-address-server.js'
import { createCrashDatabase, type CrashDatabase } from './database.js'
import { CrashHttp } from './http.js'
import { introspectAll, knownTokens } from './introspect.js'
import { Ledger } from './ledger.js'
import { LoadControl, type LoadContext } from './load.js'
import type { CrashOptions, DbKind } from './options.js'
import { IDP_SECRET, OpasServer } from './server.js'
import { takeSnapshot } from './snapshot.js'
import { emptyVerdict, verify, type Verdict } from './verify.js'
import { startCrashReceiver, waitWebhooksDelivered, webhookEnv } from './webhooks.js'
import { runWorkers } from './workers.js'

/**
 * One kill: of what, when, how much was in flight, and how long until opas served again. On
 * the embedded database the kills alternate between opas and its PostgreSQL server.
 */
export interface KillRecord {
  target: 'opas' | 'database'
  atMs: number
  inFlight: number
  /** SIGKILL sent to every listener healthy (and the database ready) again; undefined when the restart failed. */
  restartMs: number | undefined
}

export interface PhaseResult {
  kind: DbKind
  description: string
  loadMs: number
  concurrency: number
  ledger: Ledger
  kills: KillRecord[]
  restarts: number
  /** Error-level log lines of opas over all incarnations, and the last one. */
  serverErrors: { count: number; last: string | undefined }
  verdict: Verdict
  /** Problems that are not checks on data: a failed restart, a failed verification step. */
  failures: string[]
}

const CLIENTS = 8
// Each incarnation serves load this long at least before it is killed, and the last one this
// long before the load ends, so that every restart is shown to work under load.
const MIN_UPTIME_MS = 1000
// The drain (finishing retries of lost requests) may take this long before workers are halted.
const DRAIN_LIMIT_MS = 20_000
// A kill between requests cuts none: at a kill moment with nothing in flight, wait this long at
// most for a request to be sent (workers pause between retries, so there may be none).
const IN_FLIGHT_WAIT_MS = 2000

type Log = (line: string) => void

/** Kill offsets, uniformly random within the middle 80 % of the load, in order. */
function killSchedule(durationMs: number, kills: number): number[] {
  return Array.from({ length: kills }, () => (0.1 + 0.8 * Math.random()) * durationMs).sort(
    (a, b) => a - b
  )
}

/** Sleeps until `t` (performance.now() time); rejects at once when the run is interrupted. */
const sleepUntil = (t: number, signal: AbortSignal) =>
  sleep(Math.max(0, t - performance.now()), undefined, { signal })

/** Resolves once a request is in flight, or after IN_FLIGHT_WAIT_MS (the kill log then shows 0). */
async function untilInFlight(http: CrashHttp, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + IN_FLIGHT_WAIT_MS
  while (http.inFlight === 0 && performance.now() < deadline) {
    await sleep(1, undefined, { signal })
  }
}

/**
 * SIGKILLs the embedded PostgreSQL server under opas, and waits for opas to have restarted it
 * (its readiness answers again).
 */
async function killDatabase(server: OpasServer, db: CrashDatabase): Promise<void> {
  const pid = db.serverPid()
  if (pid === undefined) throw new Error('the embedded database has no server process to kill')
  process.kill(pid, 'SIGKILL')
  const deadline = Date.now() + 60_000
  while (db.serverPid() === pid || !(await server.ready())) {
    if (Date.now() > deadline) throw new Error('opas did not restart its database in 60 s')
    await sleep(20)
  }
}

/**
 * SIGKILLs opas (or, every second kill on the embedded database, its PostgreSQL server) at the
 * scheduled moments; opas is restarted at once on the same database, the database by opas.
 */
async function killAndRestart(
  server: OpasServer,
  db: CrashDatabase,
  http: CrashHttp,
  options: CrashOptions,
  log: Log,
  signal: AbortSignal
): Promise<KillRecord[]> {
  const started = performance.now()
  let upSince = started
  const records: KillRecord[] = []
  for (const offset of killSchedule(options.durationMs, options.kills)) {
    await sleepUntil(Math.max(started + offset, upSince + MIN_UPTIME_MS), signal)
    await untilInFlight(http, signal)
    const killedAt = performance.now()
    const target = db.kind === 'embedded' && records.length % 2 === 1 ? 'database' : 'opas'
    const record: KillRecord = {
      target,
      atMs: killedAt - started,
      inFlight: http.inFlight,
      restartMs: undefined
    }
    records.push(record)
    if (target === 'database') {
      await killDatabase(server, db) // throws when it does not come back
    } else {
      await server.kill()
      await server.start() // throws when opas does not come back: the caller reports it
    }
    upSince = performance.now()
    record.restartMs = upSince - killedAt
    log(
      `  kill ${records.length} (${target}) at ${(record.atMs / 1000).toFixed(1)} s ` +
        `(${record.inFlight} requests in flight): serving again after ${record.restartMs.toFixed(0)} ms`
    )
  }
  await sleepUntil(Math.max(started + options.durationMs, upSince + MIN_UPTIME_MS), signal)
  return records
}

/** Lets workers finish what they retry, then halts whatever is left. */
async function drain(control: LoadControl, workers: Promise<void>): Promise<void> {
  control.drain()
  const timer = setTimeout(() => control.halt(), DRAIN_LIMIT_MS)
  await workers
  clearTimeout(timer)
}

interface Running {
  db: CrashDatabase
  server: OpasServer | undefined
  http: CrashHttp
  cleanups: (() => Promise<unknown>)[]
  /** Aborted by Ctrl-C: the load stops, nothing is verified, everything is cleaned up. */
  signal: AbortSignal
}

/** Load with kills, then verification through the API (opas up) and SQL (opas stopped). */
async function loadAndVerify(run: Running, options: CrashOptions, log: Log, result: PhaseResult) {
  const wallets = await startWalletAddressServer()
  run.cleanups.push(() => wallets.close())
  const receiver = await startCrashReceiver()
  run.cleanups.push(() => receiver.close())
  const server = await OpasServer.create(run.db.env, webhookEnv(receiver))
  run.server = server
  const clients = Array.from({ length: CLIENTS }, (_, i) =>
    wallets.addClient(`client-${i}`, { authServer: server.urls.grant })
  )
  await server.start()
  const control = new LoadControl()
  const ctx: LoadContext = {
    http: run.http,
    urls: server.urls,
    idpSecret: IDP_SECRET,
    walletUrl: wallets.url,
    clients,
    ledger: result.ledger,
    control
  }
  const loadStarted = performance.now()
  const workers = runWorkers(ctx, options.concurrency)
  run.signal.addEventListener('abort', () => control.halt())
  try {
    result.kills = await killAndRestart(server, run.db, run.http, options, log, run.signal)
  } catch (err) {
    result.failures.push(
      run.signal.aborted ? 'interrupted' : `restart failed: ${(err as Error).message}`
    )
    control.halt()
    await workers
    return
  } finally {
    result.restarts = server.incarnation - 1
  }
  await drain(control, workers)
  result.loadMs = performance.now() - loadStarted
  log(`  load over; introspecting ${knownTokens(result.ledger).length} tokens`)
  const introspections = await introspectAll(
    run.http,
    server.urls.introspection,
    knownTokens(result.ledger)
  )
  log('  waiting for every webhook to be delivered')
  await waitWebhooksDelivered(server.urls.admin)
  // The embedded database has one owner: it can only be opened once opas has let go of it.
  await server.stop()
  result.serverErrors = server.errors()
  const db = await run.db.open()
  try {
    result.verdict = verify(
      result.ledger,
      introspections,
      await takeSnapshot(db),
      receiver.received
    )
  } finally {
    await db.close()
  }
}

/** One database: created, loaded with kills and restarts, verified, removed. */
export async function runPhase(
  kind: DbKind,
  options: CrashOptions,
  log: Log,
  signal: AbortSignal
): Promise<PhaseResult> {
  const db = await createCrashDatabase(kind)
  log(`${db.description}: ${options.durationMs / 1000} s of load, ${options.kills} kills`)
  const result: PhaseResult = {
    kind,
    description: db.description,
    loadMs: 0,
    concurrency: options.concurrency,
    ledger: new Ledger(),
    kills: [],
    restarts: 0,
    serverErrors: { count: 0, last: undefined },
    verdict: emptyVerdict(),
    failures: []
  }
  const run: Running = {
    db,
    server: undefined,
    http: new CrashHttp(options.concurrency * 2),
    cleanups: [],
    signal
  }
  try {
    await loadAndVerify(run, options, log, result)
  } catch (err) {
    result.failures.push(`${(err as Error).stack ?? String(err)}`)
    if (run.server) result.failures.push(`opas output (tail):\n${run.server.tail()}`)
  } finally {
    await run.server?.stop().catch(() => {})
    if (run.server) result.serverErrors = run.server.errors()
    await run.http.close()
    for (const cleanup of run.cleanups) await cleanup().catch(() => {})
    await db.dispose().catch((err: Error) => log(`  could not remove the database: ${err.message}`))
  }
  return result
}
