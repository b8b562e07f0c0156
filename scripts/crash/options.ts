import { parseArgs } from 'node:util'

export const usage = `usage: npx tsx scripts/crash-test.ts [options]     (after npm run build)

Crash safety of opas: drives grant, rotation and interactive-grant load, kills the server with
SIGKILL at random moments, restarts it on the same database each time, then checks that every
request answered 2xx is intact and that no error or lost answer left a live token it should not.
On the embedded database the kills alternate between opas (restarted by the test) and the
embedded PostgreSQL server (restarted by opas itself).

postgres: a fresh database opas_crash_<random> on the server of AUTH_DATABASE_URL, DATABASE_URL
or postgresql://postgres@127.0.0.1:5432/postgres (dropped at the end). embedded: the default
store, in a temporary DATA_DIR (removed at the end). Everything runs on 127.0.0.1.

options:
  --db WHICH         postgres, embedded or both (default both)
  --duration S       seconds of load per database (default 20)
  --kills N          SIGKILLs (each followed by a restart) while the load runs (default 3, at
                     least 1)
  --concurrency N    concurrent workers, split between grant, rotate and interactive (default 12)
  --help             this text

A run also fails when it proves too little or shows a fault: no acknowledged (2xx) change was
verified, no kill landed with a request in flight, opas answered a 5xx (any incarnation) or
logged an error-level line.

exit code: 0 when no violation was found and no run failed, 1 otherwise (2 on bad options).`

export type DbKind = 'postgres' | 'embedded'

export interface CrashOptions {
  dbs: DbKind[]
  durationMs: number
  kills: number
  concurrency: number
  help: boolean
}

export class UsageError extends Error {}

function positiveInteger(name: string, raw: string, min: number): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, not ${raw}`)
  }
  return value
}

function databases(raw: string): DbKind[] {
  if (raw === 'both') return ['postgres', 'embedded']
  if (raw === 'postgres' || raw === 'embedded') return [raw]
  throw new UsageError(`--db must be postgres, embedded or both, not ${raw}`)
}

export function parseOptions(argv: string[]): CrashOptions {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        db: { type: 'string', default: 'both' },
        duration: { type: 'string', default: '20' },
        kills: { type: 'string', default: '3' },
        concurrency: { type: 'string', default: '12' },
        help: { type: 'boolean', default: false }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values } = parsed
  return {
    dbs: databases(values.db),
    durationMs: positiveInteger('duration', values.duration, 1) * 1000,
    // A run must show a kill with requests in flight (minimums.ts): with no kill it cannot.
    kills: positiveInteger('kills', values.kills, 1),
    // One worker of each kind at least, or a kind would go untested.
    concurrency: positiveInteger('concurrency', values.concurrency, 3),
    help: values.help
  }
}
