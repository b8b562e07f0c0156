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
import { dirname, join } from 'node:path'

/**
 * Folders and files that only opas's own user may read (the data directory, the database's
 * password, generated secrets). Each is checked with lstat before use: a link or a folder another
 * user owns is refused, never followed or taken over, so a local user cannot point opas at a
 * file of their choosing (a planted symlink in a shared folder, say).
 */

export class UnsafePathError extends Error {}

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
  mkdirSync(dirname(path), { recursive: true })
  try {
    mkdirSync(path, { mode })
    return false
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const st = describe(path, what)
  if (!st.isDir) throw new UnsafePathError(`${what} ${path} is not a folder`)
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
