import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout } from 'node:timers/promises'
import { isSameProcess, processStart as startOf } from './process-table.js'

/**
 * One owner per embedded data directory. The owner starts, restarts and stops the database
 * server in it, and stops one an earlier, dead owner left running: a second process doing the
 * same would stop the first one's server under it. (With PGlite, two processes each kept their
 * own copy in memory and the last to write won: grants were lost, issue 13.) The owner is recorded in
 * `opas.lock` inside the directory, created exclusively; a lock whose process is gone (killed,
 * crashed, or a container restarted) is taken over.
 *
 * Why not a lock-file library: the well-kept ones judge a lock stale by its age, refreshed on a
 * timer, so a restart right after a crash would wait out the staleness period, and an owner
 * whose event loop is busy for longer (a long migration) would lose its lock while still
 * running. The owner's process id, checked against the process table, has neither problem.
 */

export interface LockOwner {
  pid: number
  hostname: string
  /** ISO time the lock was taken. */
  startedAt: string
  /** What the owner is doing, e.g. `opas start`. */
  command: string
  /** The process's start time in the kernel's clock (Linux), so a reused pid is not taken for it. */
  processStart?: string
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner
  ) {
    const where = owner.hostname === hostname() ? '' : ` on host ${owner.hostname}`
    super(
      `the data directory ${dir} is in use by opas process ${owner.pid}${where} ` +
        `(${owner.command}, since ${owner.startedAt}): one data directory serves one process. ` +
        `Stop that process first, or set DATA_DIR to another directory` +
        (where ? `; if that process is gone, delete ${join(dir, LOCK_FILE)}` : '')
    )
  }
}

export interface DataDirLock {
  /**
   * Set when the previous owner had died without releasing the lock: its record (`null` when
   * the record was unreadable).
   */
  readonly replaced?: LockOwner | null
  /** Releases the lock (idempotent). */
  release(): void
}

const LOCK_FILE = 'opas.lock'
const TAKEOVER_FILE = 'opas.lock.takeover'
/** A takeover holds its mutex for microseconds; one older than this was left by a crash. */
const TAKEOVER_STALE_MS = 10_000

/** Directories this process holds: a second open in the same process is refused too. */
const heldHere = new Set<string>()

/**
 * True while the lock's owner runs. Its pid alone could be another process's by now (the kernel
 * gives a dead process's pid to a later one): that process would keep the directory refused for
 * as long as it runs, so the owner's recorded start time must match too.
 */
function isAlive(owner: LockOwner, dir: string): boolean {
  // Another host's process cannot be checked from here: assume it runs.
  if (owner.hostname !== hostname()) return true
  if (owner.pid === process.pid) return heldHere.has(dir)
  return isSameProcess(owner.pid, owner.processStart)
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as LockOwner
    return Number.isInteger(owner.pid) ? owner : undefined
  } catch {
    // Unreadable or half-written (the writer died between create and write): no live owner.
    return undefined
  }
}

/** Creates `path` holding `record`, only if it does not exist (O_EXCL). */
function tryCreate(path: string, record: string): boolean {
  try {
    writeFileSync(path, record, { flag: 'wx', mode: 0o644 })
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

/**
 * Replaces a dead owner's lock under a short-lived mutex, so that two processes finding the
 * same dead owner cannot both remove the lock and both take it. False when another process got
 * there first (the caller looks again).
 */
function takeOver(dir: string, dead: string, record: string): boolean {
  const mutex = join(dir, TAKEOVER_FILE)
  if (!tryCreate(mutex, record)) {
    try {
      if (Date.now() - statSync(mutex).mtimeMs > TAKEOVER_STALE_MS) unlinkSync(mutex)
    } catch {
      // Gone already: the other takeover finished.
    }
    return false
  }
  try {
    const lockPath = join(dir, LOCK_FILE)
    let current: string | undefined
    try {
      current = readFileSync(lockPath, 'utf8')
    } catch {
      current = undefined
    }
    if (current !== undefined && current !== dead) return false
    if (current !== undefined) unlinkSync(lockPath)
    return tryCreate(lockPath, record)
  } finally {
    unlinkSync(mutex)
  }
}

/**
 * Takes the data directory for this process, or throws {@link DataDirInUseError} naming its
 * owner. The directory is created if needed.
 */
export async function lockDataDir(dataDir: string, command: string): Promise<DataDirLock> {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true })
  const lockPath = join(dir, LOCK_FILE)
  const processStart = startOf(process.pid)
  const me: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command,
    ...(processStart !== undefined ? { processStart } : {})
  }
  const mine = `${JSON.stringify(me)}\n`
  let replaced: LockOwner | null | undefined
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(lockPath, mine)) break
    let text: string
    try {
      text = readFileSync(lockPath, 'utf8')
    } catch {
      continue // released between our create and our read
    }
    const owner = parseOwner(text)
    if (owner && isAlive(owner, dir)) throw new DataDirInUseError(dataDir, owner)
    if (takeOver(dir, text, mine)) {
      replaced = owner ?? null
      break
    }
    if (attempt >= 50) throw new Error(`could not take the lock ${lockPath}: try again`)
    // Another process is taking the same dead owner's place: look again once it is done.
    await setTimeout(20)
  }
  heldHere.add(dir)
  let released = false
  const release = () => {
    if (released) return
    released = true
    heldHere.delete(dir)
    process.off('exit', release)
    try {
      // Only our own lock: never one a later owner took over.
      if (readFileSync(lockPath, 'utf8') === mine) unlinkSync(lockPath)
    } catch {
      // Already gone.
    }
  }
  // A process that exits without closing (an uncaught error) still frees its directory.
  process.on('exit', release)
  return { ...(replaced !== undefined ? { replaced } : {}), release }
}
