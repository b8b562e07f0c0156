import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compareRounds, formatComparison } from '../../bench/floor-compare.js'
import { parseOptions, UsageError } from '../../bench/options.js'
import { formatSummary, originOf, summarize } from '../../bench/profile-summary.js'
import type { BenchReport, RunResult } from '../../bench/report.js'

/** A bench report with one run per scenario given as [req/s, p99 ms, RSS MiB]. */
function report(runs: Record<string, [number, number, number]>): BenchReport {
  return {
    meta: {},
    floors: undefined,
    prefill: undefined,
    runs: Object.entries(runs).map(
      ([scenario, [reqPerSec, p99, rss]]) =>
        ({
          scenario,
          concurrency: 16,
          reqPerSec,
          latencyMs: { p99 },
          errors: {},
          serverMaxRssBytes: rss * 1048576
        }) as unknown as RunResult
    ),
    skipped: [],
    serverWarnings: undefined
  }
}

describe('bench --floor: the comparison', () => {
  const opas = [
    report({ grant: [900, 12, 140], rotate: [800, 20, 160] }),
    report({ grant: [1000, 11, 145], rotate: [600, 30, 150] }),
    report({ grant: [950, 13, 141], rotate: [850, 22, 155] })
  ]
  const floor = [
    report({ grant: [1000, 10, 80], rotate: [1000, 10, 80] }),
    report({ grant: [1100, 10, 80], rotate: [1000, 10, 80] }),
    report({ grant: [1050, 10, 80], rotate: [1000, 10, 80] })
  ]

  test('ratios of the medians of the rounds, and the highest RSS', () => {
    const [grant, rotate] = compareRounds(opas, floor, ['grant', 'rotate'])
    assert.equal(grant!.ratio, 950 / 1050)
    assert.equal(grant!.p99Ratio, 12 / 10)
    assert.equal(grant!.opas.maxRssBytes, 145 * 1048576)
    assert.equal(rotate!.ratio, 800 / 1000)
    assert.equal(rotate!.p99Ratio, 22 / 10)
  })

  test('the goal column says what is not met', () => {
    const text = formatComparison(compareRounds(opas, floor, ['grant', 'rotate']))
    const line = (scenario: string) => text.split('\n').find((l) => l.startsWith(scenario))!
    assert.match(line('grant'), / met$/)
    assert.match(line('rotate'), /ratio NOT met, p99 NOT met, RSS NOT met$/)
    assert.match(text, /rotate: opas 800 \/ 600 \/ 850, floor 1000 \/ 1000 \/ 1000 req\/s/)
  })
})

describe('bench --floor: its options', () => {
  const withDatabase = <T>(url: string | undefined, fn: () => T): T => {
    const saved = [process.env.AUTH_DATABASE_URL, process.env.DATABASE_URL]
    if (url === undefined) delete process.env.AUTH_DATABASE_URL
    else process.env.AUTH_DATABASE_URL = url
    delete process.env.DATABASE_URL
    try {
      return fn()
    } finally {
      for (const [name, value] of [
        ['AUTH_DATABASE_URL', saved[0]],
        ['DATABASE_URL', saved[1]]
      ] as const) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  }
  const refused = (args: string[], url: string | undefined, message: RegExp) =>
    assert.throws(
      () => withDatabase(url, () => parseOptions(args)),
      (err) => err instanceof UsageError && message.test(err.message)
    )
  const pg = 'postgresql://postgres@127.0.0.1:5432/postgres'

  test('on PostgreSQL only: the setting is named', () => {
    refused(['--floor'], undefined, /AUTH_DATABASE_URL/)
  })
  test('one concurrency, the comparable scenarios, no option that changes opas', () => {
    refused(
      ['--floor', '--floor-server', import.meta.filename, '--concurrency', '1,16'],
      pg,
      /one --concurrency/
    )
    refused(
      ['--floor', '--floor-server', import.meta.filename, '--scenario', 'continue-poll'],
      pg,
      /--scenario/
    )
    refused(['--floor', '--floor-server', import.meta.filename, '--webhooks'], pg, /--webhooks/)
    refused(['--rounds', '2'], pg, /--rounds applies to --floor only/)
  })
  test("the floor server's script must be there: the option to give it is named", () => {
    refused(['--floor', '--floor-server', '/nonexistent/floor-server.mjs'], pg, /--floor-server/)
  })
  test('defaults: grant, rotate and introspect at 16 clients, 3 rounds', () => {
    const options = withDatabase(pg, () =>
      parseOptions(['--floor', '--floor-server', import.meta.filename])
    )!
    assert.deepEqual(options.scenarios, ['grant', 'rotate', 'introspect'])
    assert.deepEqual(options.concurrency, [16])
    assert.equal(options.rounds, 3)
    assert.equal(options.floorServer, import.meta.filename)
  })
})

describe('bench/profile-summary', () => {
  const frame = (id: number, functionName: string, url: string) => ({
    id,
    callFrame: { functionName, url, lineNumber: 9 }
  })
  const profile = {
    nodes: [
      frame(1, '(idle)', ''),
      frame(2, 'writev', ''),
      frame(3, 'requestGrant', 'file:///srv/opas/dist/grant/grant-service.js'),
      frame(4, 'query', 'file:///srv/opas/node_modules/pg/lib/client.js'),
      frame(5, 'emit', 'node:events')
    ],
    samples: [1, 2, 2, 3, 4, 5, 1],
    timeDeltas: [500, 100, 100, 50, 30, 20, 500]
  }

  test('self time by origin and by function, as shares of the busy time', () => {
    const summary = summarize(profile)
    assert.equal(summary.totalUs, 1300)
    assert.equal(summary.busyUs, 300)
    assert.deepEqual(summary.byOrigin.slice(0, 4), [
      { origin: '(idle)', us: 1000 },
      { origin: 'writev', us: 200 },
      { origin: 'opas:grant', us: 50 },
      { origin: 'npm:pg', us: 30 }
    ])
    const text = formatSummary(summary, 10)
    assert.match(text, /66\.7 % {2}writev/)
    assert.match(text, /16\.7 % {2}requestGrant grant\/grant-service\.js:10/)
    assert.doesNotMatch(text, /\(idle\)/)
  })

  test('origins', () => {
    assert.equal(
      originOf({ functionName: 'x', url: 'file:///a/node_modules/@fastify/cors/i.js' }),
      'npm:@fastify/cors'
    )
    assert.equal(
      originOf({ functionName: 'x', url: 'node:internal/streams/writable' }),
      'node:internal'
    )
    assert.equal(
      originOf({ functionName: 'x', url: 'file:///a/src/token/token-service.ts' }),
      'opas:token'
    )
    assert.equal(originOf({ functionName: '(garbage collector)', url: '' }), '(garbage collector)')
  })
})
