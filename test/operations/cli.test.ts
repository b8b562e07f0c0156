import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ranOpas, runOpas, tempFolder } from '../helpers/opas-process.js'

/** The `opas` command line as a newcomer tries it (issue 13): help, version, clear usage errors. */

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }

const opas = (...args: string[]) => ranOpas(args, { DATA_DIR: 'memory://' })

test('--help and -h on the program and on every command, exit 0', async () => {
  const runs = await Promise.all([
    opas('--help'),
    opas('-h'),
    opas('help'),
    opas('start', '--help'),
    opas('migrate', '-h'),
    opas('config', 'check', '--help'),
    opas('config', 'docs', '--help'),
    opas('secrets', 'show', '--help'),
    opas('help', 'start')
  ])
  for (const { code, output } of runs) {
    assert.equal(code, 0, output)
    assert.match(output, /^Usage: opas/m)
  }
  const [program] = runs
  for (const command of ['start', 'migrate', 'config', 'secrets']) {
    assert.match(program!.output, new RegExp(`^  ${command}\\b`, 'm'), command)
  }
  assert.match(runs[3]!.output, /--workers <n>/)
})

test('--version and -v print the package version, exit 0', async () => {
  for (const flag of ['--version', '-v']) {
    const { code, output } = await opas(flag)
    assert.equal(code, 0)
    assert.equal(output.trim(), version)
  }
})

test('an unknown command or option is named, with exit code 2', async () => {
  const cases: [string[], RegExp][] = [
    [['serve'], /unknown command 'serve'/],
    [['config', 'show'], /unknown command 'show'/],
    [['start', '--port', '3000'], /unknown option '--port'/],
    [['--verbose'], /unknown option '--verbose'/],
    [['start', '--workers', 'many'], /'--workers <n>' argument 'many' is invalid/],
    [['start', '--workers', '0'], /takes a whole number from 1 to 64/],
    [['migrate', 'now'], /too many arguments/]
  ]
  const runs = await Promise.all(cases.map(([args]) => opas(...args)))
  runs.forEach(({ code, output }, i) => {
    const [args, message] = cases[i]!
    assert.equal(code, 2, `${args.join(' ')}: ${output}`)
    assert.match(output, message, args.join(' '))
    assert.match(output, /opas --help/)
    assert.doesNotMatch(output, /\bat \S+\.(ts|js):\d+/, 'no stack trace')
  })
})

test('a command that fails says why in one line, exit 1', async () => {
  const run = runOpas(['config', 'check'], { AUTH_PORT: 'abc', DATA_DIR: 'memory://' })
  assert.equal(await run.exited, 1)
  assert.match(run.output(), /^opas: invalid configuration:\n {2}- AUTH_PORT: /m)
  assert.doesNotMatch(run.output(), /\bat \S+\.(ts|js):\d+/)
})

test('read-only commands on a data directory with no database say so and create nothing', async () => {
  const dataDir = join(tempFolder('opas-cli-'), 'data')
  // config check: no database yet is an answer; settings named as they are set.
  const check = runOpas(['config', 'check'], { DATA_DIR: dataDir })
  assert.equal(await check.exited, 0, check.output())
  assert.match(check.output(), /database: none yet in .*: the first `opas start` creates it/)
  assert.match(check.output(), /^ {2}"AUTH_PORT": 3006,$/m)
  assert.doesNotMatch(check.output(), /"authPort"/)
  assert.match(check.output(), /^generated on first start: .*OPERATOR_TENANT_ID/m)
  // secrets show: run in the wrong place, it says so and fails, so no script goes on empty.
  const show = runOpas(['secrets', 'show'], { DATA_DIR: dataDir })
  assert.equal(await show.exited, 1, show.output())
  assert.match(
    show.output(),
    /^opas: no opas database in DATA_DIR .*data: run this where opas runs/m
  )
  assert.equal(existsSync(dataDir), false)
})

test('an operator command run after `opas migrate`, before any server started, shows the settings it generated', async () => {
  const dataDir = join(tempFolder('opas-cli-'), 'data')
  const migrate = runOpas(['migrate'], { DATA_DIR: dataDir })
  assert.equal(await migrate.exited, 0, migrate.output())
  const list = runOpas(['tenants', 'list', '--json'], { DATA_DIR: dataDir })
  assert.equal(await list.exited, 0, list.output())
  assert.match(list.output(), /opas generated these settings/)
  const generated = /^ {4}OPERATOR_TENANT_ID=(\S+)$/m.exec(list.output())?.[1]
  assert.ok(generated, list.output())
  const show = runOpas(['secrets', 'show'], { DATA_DIR: dataDir })
  assert.equal(await show.exited, 0, show.output())
  assert.match(show.output(), new RegExp(`^OPERATOR_TENANT_ID=${generated}$`, 'm'))
})
