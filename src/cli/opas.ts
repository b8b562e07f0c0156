#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { ListenAddressError } from '../http/listen-addresses.js'
import { DataDirInUseError } from '../storage/embedded/data-dir-lock.js'
import { DatabaseWaitError } from '../storage/database-wait.js'
import {
  checkConfig,
  CliError,
  CliUsageError,
  printConfigDocs,
  runMigrations,
  showSecrets,
  start
} from './commands.js'
import { registerEventCommands } from './event-commands.js'
import { registerImportCommand } from './import-command.js'
import { registerTenantCommands } from './tenant-commands.js'
import { registerGrantCommands } from './grant-commands.js'

/** Exit codes: 0 done, 1 failed, 2 the command line itself is wrong (unknown command or flag). */
const USAGE_ERROR = 2

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
) as { version: string }

function workerCount(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new InvalidArgumentError('takes a whole number from 1 to 64')
  }
  return n
}

function program(): Command {
  const opas = new Command('opas')
    .description('Open Payments authorization server (GNAP, RFC 9635)')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    // Inherited by every command below: errors are thrown to main(), which picks the exit code.
    .exitOverride()
    .showHelpAfterError('(run `opas --help` to see the commands and their options)')
    .addHelpText(
      'after',
      '\nConfiguration comes from the environment and the ENV_FILE file (default .env):\n' +
        'see `opas config docs`.'
    )

  opas
    .command('start')
    .description('start every listener (migrates first unless ENABLE_MANUAL_MIGRATIONS=true)')
    .option(
      '--workers <n>',
      'run N server processes sharing the ports (PostgreSQL only)',
      workerCount,
      1
    )
    .action((options: { workers: number }) => start(options))

  opas
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(runMigrations)

  const config = opas.command('config').description('check or describe the configuration')
  config
    .command('check')
    .description('validate the configuration, print it with secrets redacted, check the database')
    .action(checkConfig)
  config
    .command('docs')
    .description('print the configuration reference (Markdown)')
    .action(printConfigDocs)

  const secrets = opas.command('secrets').description('settings opas generated on first start')
  secrets
    .command('show')
    .description('print the generated secrets and operator tenant id (NAME=value lines)')
    .action(showSecrets)
  registerTenantCommands(opas)
  registerGrantCommands(opas)
  registerEventCommands(opas)
  registerImportCommand(opas)
  return opas
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; a bare group (`opas config`)
      // prints its help and is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : USAGE_ERROR
      return
    }
    if (err instanceof CliUsageError) {
      process.stderr.write(
        `opas: ${err.message}\n(run \`opas --help\` to see the commands and their options)\n`
      )
      process.exitCode = USAGE_ERROR
      return
    }
    if (
      err instanceof CliError ||
      err instanceof DataDirInUseError ||
      err instanceof ListenAddressError ||
      err instanceof DatabaseWaitError
    ) {
      process.stderr.write(`opas: ${err.message}\n`)
      process.exitCode = 1
      return
    }
    throw err
  }
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`opas: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
