import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/**
 * Folders and files that only opas's own user may read (the data directory, the database's
 * password, generated secrets). Each is checked with lstat before use: a link or a folder another
 * user owns is refused, never followed or taken over, so a local user cannot point opas at a
 * file of their choosing (a planted symlink in a shared folder, say).
 */

export class UnsafePathError extends Error {}

/** Kernel file systems that hold no files of anyone's: /proc, /sys, /dev and what lives there. */
const virtualRoots = ['/proc', '/sys', '/dev']
/**
 * Folders of the system itself: opas closes its folder to other users (0700), which on one of
 * these, as root, would lock every other user out of the machine.
 */
const systemFolders = new Set([
  '/',
  '/bin',
  '/boot',
  '/etc',
  '/home',
  '/lib',
  '/lib64',
  '/media',
  '/mnt',
  '/opt',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/tmp',
  '/usr',
  '/var',
  '/var/lib',
  '/var/tmp'
])

/** Refuses a folder no private data of opas's belongs in, saying where it should go. */
function refuseSystemFolder(path: string, what: string): void {
  const absolute = resolve(path)
  const root = virtualRoots.find((r) => absolute === r || absolute.startsWith(`${r}/`))
  const instead = 'choose a folder of its own on a disk (for example /var/lib/opas, or a volume)'
  if (root !== undefined) {
    throw new UnsafePathError(
      `${what} ${path} is in ${root}, the kernel's view of the system, where nothing can be ` +
        `stored: ${instead}`
    )
  }
  if (systemFolders.has(absolute)) {
    throw new UnsafePathError(`${what} ${path} is a folder of the system's: ${instead}`)
  }
}

/** Why a folder could not be made, in the operator's words, naming the setting. */
function cannotCreate(path: string, what: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code
  const uid = myUid()
  const user = uid === undefined ? 'the user running opas' : `the user running opas (uid ${uid})`
  const why: Record<string, string> = {
    EACCES: `${user} may not create it: create it for that user, or choose another folder`,
    EPERM: `${user} may not create it: create it for that user, or choose another folder`,
    ENOTDIR: 'a file stands where one of its folders should be: choose another folder',
    EEXIST: 'a file stands where one of its folders should be: choose another folder',
    EROFS: 'it is on a read-only file system: choose a folder on a writable one (a volume)',
    ENOSPC: 'the disk is full: free some space, or choose a folder on another disk'
  }
  const reason = code === undefined ? undefined : why[code]
  return reason
    ? new UnsafePathError(`${what} ${path} cannot be created: ${reason}`)
    : (err as Error)
}

const myUid = () => process.getuid?.()

/** Who owns `path` and how, refusing a link unless the current user made it (operators may). */
function describe(path: string, what: string): { uid: number; mode: number; isDir: boolean } {
  const link = lstatSync(path)
  if (link.isSymbolicLink() && link.uid !== myUid()) {
    throw new UnsafePathError(
      `${what} ${path} is a link made by uid ${link.uid}, not by this user: refused (a link in ` +
        'a shared folder could point anywhere); remove it, or name the real folder'
    )
  }
  const st = link.isSymbolicLink() ? statSync(path) : link
  return { uid: st.uid, mode: st.mode & 0o7777, isDir: st.isDirectory() }
}

/**
 * A folder of the current user's that nobody else may open: created with `mode` when missing;
 * an existing one must be a folder this user owns, and is closed to others when it was not.
 * Answers true when it had to be closed.
 */
export function ensurePrivateFolder(path: string, what: string, mode = 0o700): boolean {
  refuseSystemFolder(path, what)
  try {
    mkdirSync(dirname(path), { recursive: true })
  } catch (err) {
    throw cannotCreate(path, what, err)
  }
  try {
    mkdirSync(path, { mode })
    return false
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(path, what, err)
  }
  const st = describe(path, what)
  if (!st.isDir) {
    throw new UnsafePathError(`${what} ${path} is a file, not a folder: choose another folder`)
  }
  if (myUid() !== undefined && st.uid !== myUid()) {
    throw new UnsafePathError(
      `${what} ${path} belongs to uid ${st.uid}, not to the user running opas (uid ${myUid()}): ` +
        'run opas as its owner, or choose another folder'
    )
  }
  if ((st.mode & 0o077 & ~mode) === 0) return false
  chmodSync(path, mode)
  return true
}

/**
 * The text of a private file, or undefined when there is none. A file another user owns, or
 * that others may read, is refused: it is not one opas wrote.
 */
export function readPrivateFile(path: string, what: string): string | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new UnsafePathError(`${what} ${path} is a link: refused`)
    throw err
  }
  try {
    const st = fstatSync(fd)
    if ((myUid() !== undefined && st.uid !== myUid()) || (st.mode & 0o077) !== 0) {
      throw new UnsafePathError(
        `${what} ${path} belongs to uid ${st.uid} or is open to other users (mode ` +
          `${(st.mode & 0o777).toString(8)}): it is not one opas wrote; remove it`
      )
    }
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes a private file (0600, of the current user or `owner`) whole or not at all: a new file beside it, synced, then renamed
 * over it, so a crash leaves the old text or the new, never half of one.
 */
export function writePrivateFile(
  path: string,
  text: string,
  owner?: { uid: number; gid: number }
): void {
  const scratch = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(
    scratch,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600
  )
  try {
    writeSync(fd, text)
    // For the database's own files (its access rules): the server's user must read them.
    if (owner) fchownSync(fd, owner.uid, owner.gid)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(scratch, path)
  } catch (err) {
    unlinkSync(scratch)
    throw err
  }
}
