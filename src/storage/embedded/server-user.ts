import { spawnSync } from 'node:child_process'
import { existsSync, lchownSync, lstatSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/**
 * Who runs the embedded PostgreSQL server. PostgreSQL refuses to run as root (a server bug must
 * not own the machine), so when opas runs as root the server runs as a system user of its own,
 * `opas-postgres`, created on first need. Never as `nobody` or another user that unrelated
 * processes share: any of them could then read the data files or signal the server.
 */

export class EmbeddedDatabaseError extends Error {}

export interface OsUser {
  name: string
  uid: number
  gid: number
}

export interface UserLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

/** The user opas creates and runs the server as, unless EMBEDDED_DATABASE_USER names another. */
const DEDICATED_USER = 'opas-postgres'
/** Users that other processes run as by design: refused as the database's user. */
const SHARED_USERS = new Set(['nobody', 'nfsnobody', 'daemon', 'www-data'])

/** A system user by name or uid, from `id` (`uid=65534(nobody) gid=65534(nogroup) …`). */
function lookUpUser(nameOrUid: string): OsUser | undefined {
  const out = spawnSync('id', [nameOrUid], { encoding: 'utf8' })
  const found = out.status === 0 ? /uid=(\d+)(?:\(([^)]*)\))? gid=(\d+)/.exec(out.stdout) : null
  if (!found) return undefined
  return { name: found[2] ?? nameOrUid, uid: Number(found[1]), gid: Number(found[3]) }
}

const nologin = () =>
  ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false'].find((shell) => existsSync(shell))!

/**
 * Creates the dedicated system user: no home, no login shell, a group of its own. useradd
 * (Debian, Red Hat) or BusyBox's adduser (Alpine). Another process creating it at the same
 * moment is fine: the user exists either way.
 */
function createDedicatedUser(log: UserLog): OsUser {
  const shell = nologin()
  const words = (line: string) => line.split(' ')
  const ways = [
    [
      words(
        `useradd --system --user-group --no-create-home --home-dir /nonexistent --shell ${shell} ${DEDICATED_USER}`
      )
    ],
    // BusyBox (Alpine): the group first, then the user in it.
    [
      words(`addgroup -S ${DEDICATED_USER}`),
      words(`adduser -S -D -H -h /nonexistent -s ${shell} -G ${DEDICATED_USER} ${DEDICATED_USER}`)
    ]
  ]
  const errors: string[] = []
  for (const steps of ways) {
    let last: ReturnType<typeof spawnSync> | undefined
    for (const [program, ...args] of steps) last = spawnSync(program!, args, { encoding: 'utf8' })
    const user = lookUpUser(DEDICATED_USER)
    if (user) {
      if (last?.status === 0) {
        log.info(
          { user: DEDICATED_USER, uid: user.uid },
          `created the system user ${DEDICATED_USER} to run the embedded database (PostgreSQL refuses to run as root)`
        )
      }
      return user
    }
    errors.push(`${steps.at(-1)![0]}: ${last?.error?.message ?? String(last?.stderr ?? '').trim()}`)
  }
  throw new EmbeddedDatabaseError(
    `opas runs as root, and PostgreSQL refuses to, so the embedded database runs as a system user ` +
      `of its own; the user ${DEDICATED_USER} could not be created (${errors.join('; ')}): create ` +
      'an unprivileged user for it and name it in EMBEDDED_DATABASE_USER, or run opas as an ' +
      'unprivileged user'
  )
}

function refuseShared(user: OsUser, setting: string): void {
  if (user.uid === 0) {
    throw new EmbeddedDatabaseError(
      `${setting}=${user.name} is root: PostgreSQL refuses to run as root; name an unprivileged user`
    )
  }
  if (SHARED_USERS.has(user.name) || user.uid === 65534) {
    throw new EmbeddedDatabaseError(
      `${setting}=${user.name}: other processes run as ${user.name}, and any of them could read ` +
        'the database or connect to it; name a user of its own (unset, opas creates ' +
        `${DEDICATED_USER})`
    )
  }
}

/**
 * Gives a cluster to `user`: every file and folder in it, links themselves rather than what they
 * point at (lchown), so a link inside cannot hand over anything outside.
 */
function giveTree(path: string, user: OsUser): void {
  lchownSync(path, user.uid, user.gid)
  if (!lstatSync(path).isDirectory()) return
  for (const name of readdirSync(path)) giveTree(join(path, name), user)
}

/**
 * The user the server runs as; undefined: the current user (opas does not run as root). As
 * root: EMBEDDED_DATABASE_USER when set (it must exist), else the owner of an existing cluster,
 * else `opas-postgres`, created when missing. A cluster that an earlier version ran as `nobody`
 * is handed to `opas-postgres`.
 */
export function serverUser(
  dir: string,
  runAs: string | undefined,
  log: UserLog
): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined
  const owner = existsSync(join(dir, 'PG_VERSION')) ? statSync(dir).uid : undefined
  if (runAs !== undefined) {
    const user = lookUpUser(runAs)
    if (user === undefined) {
      throw new EmbeddedDatabaseError(
        `EMBEDDED_DATABASE_USER=${runAs}: the user ${runAs} does not exist here; create it, or ` +
          `unset EMBEDDED_DATABASE_USER and opas creates ${DEDICATED_USER}`
      )
    }
    refuseShared(user, 'EMBEDDED_DATABASE_USER')
    if (owner !== undefined && owner !== user.uid) {
      throw new EmbeddedDatabaseError(
        `the embedded database in ${dir} belongs to uid ${owner}, not to ` +
          `EMBEDDED_DATABASE_USER=${runAs} (uid ${user.uid}): set EMBEDDED_DATABASE_USER to its ` +
          `owner, or give the directory to ${runAs} (chown -R)`
      )
    }
    return user
  }
  const existing = owner !== undefined && owner !== 0 ? lookUpUser(String(owner)) : undefined
  if (existing && !SHARED_USERS.has(existing.name) && existing.uid !== 65534) return existing
  const user = lookUpUser(DEDICATED_USER) ?? createDedicatedUser(log)
  refuseShared(user, 'the user')
  if (owner !== undefined) {
    giveTree(dir, user)
    log.warn(
      { dir, from: existing?.name ?? owner, to: user.name },
      `the embedded database belonged to ${existing?.name ?? `uid ${owner}`}, a user other processes share: it now belongs to ${user.name}`
    )
  }
  return user
}

/** True when `user` may enter `path` (execute permission): its primary group only. */
function canEnter(path: string, user: OsUser): boolean {
  const st = statSync(path)
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0
  if (st.gid === user.gid) return (st.mode & 0o010) !== 0
  return (st.mode & 0o001) !== 0
}

/** The first folder on the way to `path` (itself included) that `user` may not enter, if any. */
export function blockedOnTheWay(path: string, user: OsUser): string | undefined {
  const steps: string[] = []
  for (let at = resolve(path); ; at = dirname(at)) {
    steps.unshift(at)
    if (dirname(at) === at) break
  }
  return steps.find((step) => existsSync(step) && !canEnter(step, user))
}
