#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (TypeScript through tsx).
// Node 20's runner does not glob .ts files itself, so the list is built here.
// Arguments are passed through: `npm test -- test/client` runs only the files under test/client.
// test/container (the container image, built and run with podman: minutes, as root) is left out
// of a run given no paths; `npm run test:container` runs it, and so does .ci/run, in a step of
// its own.
//
// Every skipped test is listed at the end with its reason. With OPAS_TEST_NO_UNEXPECTED_SKIPS=1
// (set by .ci/run) a skip fails the run, except a PostgreSQL-only test's on the embedded database (reason
// starting with POSTGRES_ONLY, test/helpers/requirements.ts): that one runs in the PostgreSQL pass.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const POSTGRES_ONLY = 'needs PostgreSQL (OPAS_TEST_DATABASE_URL)'

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) collect(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const args = process.argv.slice(2)
const roots = args.filter((a) => !a.startsWith('-'))
const flags = args.filter((a) => a.startsWith('-'))
const OWN_STEP = join('test', 'container')
const files = (roots.length ? roots : ['src', 'test'])
  .flatMap((r) => (statSync(r).isDirectory() ? collect(r, []) : [r]))
  .filter((file) => roots.length > 0 || !file.startsWith(`${OWN_STEP}/`))
  .sort()
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

const scratch = mkdtempSync(join(tmpdir(), 'opas-tests-'))
const skipsFile = join(scratch, 'skips.jsonl')
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=120000',
    // node's own choice of reporter (spec on a terminal, TAP otherwise), plus the skip list.
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(import.meta.dirname, 'skip-reporter.mjs')}`,
    `--test-reporter-destination=${skipsFile}`,
    ...flags,
    ...files
  ],
  { stdio: 'inherit' }
)

let skips = []
try {
  skips = readFileSync(skipsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
} catch {
  // No file: the runner wrote no event (it failed before any test ran).
}
rmSync(scratch, { recursive: true, force: true })

const strict = process.env.OPAS_TEST_NO_UNEXPECTED_SKIPS === '1'
const expected = (skip) =>
  !process.env.OPAS_TEST_DATABASE_URL && skip.reason.startsWith(POSTGRES_ONLY)
const unexpected = skips.filter((s) => !expected(s))
const where = (s) =>
  `${s.file ? relative(process.cwd(), s.file) : '?'}: ${s.name} (${s.reason || 'no reason given'})`
console.log(`\n${skips.length} skipped${skips.length ? ':' : ''}`)
for (const s of skips)
  console.log(`  ${strict && !expected(s) ? 'NOT ALLOWED HERE: ' : ''}${where(s)}`)

let status = result.status ?? 1
if (strict && unexpected.length > 0) {
  console.error(
    `${unexpected.length} test(s) skipped that must run here (OPAS_TEST_NO_UNEXPECTED_SKIPS=1)`
  )
  if (status === 0) status = 1
}
process.exit(status)
