import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { importRafiki, type ImportReport } from '../rafiki-import/rafiki-import.js'
import { RafikiSourceError } from '../rafiki-import/rafiki-source.js'
import { redactUrlPassword } from '../config/index.js'
import { isDatabaseUnavailable } from '../storage/db-errors.js'
import { createPostgresDb } from '../storage/postgres-db.js'
import { createSecretBox } from '../tenant/secret-box.js'
import { CliError } from './commands.js'
import { print, printJson, table, withServices } from './operator-commands.js'

/*
 * `opas import rafiki --from <URL>`: a Rafiki auth database into opas's (issue 25), on the same
 * services and database as the other operator commands, beside a running server too.
 */

function postgresUrl(value: string): string {
  const protocol = URL.canParse(value) ? new URL(value).protocol : undefined
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new InvalidArgumentError(
      "takes the PostgreSQL URL of Rafiki auth's database (its AUTH_DATABASE_URL), " +
        'postgresql://user:password@host:5432/auth'
    )
  }
  return value
}

/**
 * The source as its run's position is kept: host (or socket folder, `?host=`), port and
 * database, never credentials.
 */
const sourceName = (value: string) => {
  const url = new URL(value)
  const host = url.hostname || url.searchParams.get('host') || 'localhost'
  return `${host}:${url.port || '5432'}${url.pathname}`
}

/** On a terminal, one line rewritten per batch; nothing when the output is a file or a pipe. */
function progress(): ((table: string, done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined
  return (name, done, total) => {
    const width = 30
    const filled = total === 0 ? width : Math.round((done / total) * width)
    process.stderr.write(
      `\r${name.padEnd(13)} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`
    )
    if (done >= total) process.stderr.write('\n')
  }
}

function printReport(report: ImportReport, from: string): void {
  if (report.resumed) {
    const { phase, afterId, startedAt } = report.resumed
    print(
      `Resumed the run started ${startedAt.toISOString()}, which stopped in ${phase}` +
        (afterId ? ` after ${afterId}` : '') +
        ' (--full reads everything again).'
    )
  } else if (report.since) {
    print(
      `Read what Rafiki changed since ${report.since.toISOString()}, an hour before the last ` +
        'finished run began (--full reads everything).'
    )
  }
  print(
    report.dryRun
      ? `Dry run: nothing was changed. Importing from ${from} would do this:`
      : `Imported from ${from}:`
  )
  print(
    table(
      [
        'Rafiki table',
        'read',
        report.dryRun ? 'would import' : 'imported',
        report.dryRun ? 'would update' : 'updated',
        'already in opas',
        'skipped'
      ],
      Object.entries(report.tables).map(([name, c]) =>
        [name, c.read, c.imported, c.advanced, c.present, c.skipped].map(String)
      )
    )
  )
  if (report.skipped.length > 0) {
    print(`\nSkipped (${report.skipped.length}):`)
    print(
      table(
        ['table', 'id', 'why'],
        report.skipped.map((s) => [s.table, s.id, s.reason])
      )
    )
  }
  if (report.notes.length > 0) {
    print(`\nImported with a note (${report.notes.length}):`)
    print(
      table(
        ['table', 'id', 'note'],
        report.notes.map((n) => [n.table, n.id, n.note])
      )
    )
  }
}

export function registerImportCommand(program: Command): void {
  const importing = program.command('import').description('bring data in from another server')
  importing
    .command('rafiki')
    .description(
      "copy a Rafiki auth database's tenants, grants, tokens and pending interactions into " +
        "opas's, keeping every URL its clients hold (run it again for what changed since)"
    )
    .requiredOption('--from <url>', "the PostgreSQL URL of Rafiki auth's database", postgresUrl)
    .option('--dry-run', 'report what would be imported, change nothing')
    .option(
      '--full',
      'read every row: neither resume a stopped run nor read only what changed since the last'
    )
    .option('--json', 'print the report as JSON')
    .action((options: { from: string; dryRun?: boolean; full?: boolean; json?: boolean }) =>
      withServices('opas import rafiki', async (services) => {
        // Unnamed statements: each cursor's text is its own, so naming them saves no planning,
        // and Rafiki's database may sit behind a transaction-mode pooler.
        const source = createPostgresDb(options.from, 2, { preparedStatements: false })
        try {
          const report = await importRafiki({
            source,
            sourceName: sourceName(options.from),
            target: services.db,
            authServerUrl: services.config.authServerUrl,
            seal: createSecretBox(services.config.tenantSecretsKey).seal,
            dryRun: options.dryRun === true,
            full: options.full === true,
            onProgress: options.json ? undefined : progress()
          })
          if (options.json) printJson(report)
          else printReport(report, redactUrlPassword(options.from))
        } catch (err) {
          if (err instanceof RafikiSourceError) throw new CliError(err.message)
          // Down or unreachable, as opas judges its own database; or not a host, a database or
          // a sign-in that exists (ENOTFOUND, 3D000, 28000, 28P01).
          const code = (err as { code?: unknown }).code
          if (isDatabaseUnavailable(err) || /^(ENOTFOUND|3D000|28000|28P01)$/.test(String(code))) {
            throw new CliError(
              `cannot read the Rafiki database at ${redactUrlPassword(options.from)}: ${(err as Error).message}`
            )
          }
          throw err
        } finally {
          await source.close()
        }
      })
    )
}
