// Compiles opas into dist/. `--if-stale` (npm start, npm install) compiles only when a source or
// build setting changed since the last build, so a start costs no compilation otherwise.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const STAMP = 'dist/.build-stamp'
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']

/** The newest modification time under `path` (a file or a directory), 0 if absent. */
function newest(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

const ifStale = process.argv.includes('--if-stale')
if (ifStale && existsSync(STAMP) && Math.max(...INPUTS.map(newest)) <= statSync(STAMP).mtimeMs) {
  process.exit(0)
}

let tsc
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  // An install without dev dependencies (npm ci --omit=dev) has no compiler: it must not fail
  // there, and dist/ may have been built elsewhere.
  const message = 'opas: TypeScript is not installed, so dist/ cannot be built here'
  if (process.env.npm_lifecycle_event === 'prepare') {
    process.stderr.write(
      `${message}; skipped (run \`npm install\` with dev dependencies to build)\n`
    )
    process.exit(0)
  }
  process.stderr.write(`${message}: run \`npm install\` (with dev dependencies) first\n`)
  process.exit(1)
}

if (ifStale) process.stderr.write('opas: compiling (the sources changed since the last build)…\n')
// A clean output: a source deleted since the last build leaves nothing behind in dist/.
rmSync('dist', { recursive: true, force: true })
const { status } = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  stdio: 'inherit'
})
if (status !== 0) process.exit(status ?? 1)
// tsc compiles TypeScript only; the SQL migrations ship beside the compiled migrator.
cpSync('src/storage/migrations', 'dist/storage/migrations', { recursive: true })
writeFileSync(STAMP, `${new Date().toISOString()}\n`)
