import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { finalizationReasons, grantStates } from '../gnap/grant-states.js'
import { GrantSearchError, type GrantSearchProblem } from '../grant/grant-operations.js'
import { grantStatuses, statusesNamed, statusOf, type GrantStatus } from '../grant/grant-status.js'
import { CliError, CliUsageError } from './commands.js'
import { fitTable } from './fit-table.js'
import { grantColumns, grantRow, grantShown } from './grant-lines.js'
import {
  cliCall,
  print,
  printJson,
  terminalWidth,
  uuidArgument,
  wholeNumber,
  withServices
} from './operator-commands.js'

/*
 * `opas grants …`: the grant operations (grant/grant-operations.ts), as the admin API and the
 * console call them, with every tenant in scope; the command parses its options, calls, and
 * prints the answer.
 */

const MAX_LIMIT = 100

function oneOf<T extends string>(values: readonly T[], what: string) {
  return (value: string, previous: T[] = []) => {
    const upper = value.toUpperCase() as T
    if (!values.includes(upper)) {
      throw new InvalidArgumentError(`${what} must be one of ${values.join(', ')}`)
    }
    return [...previous, upper]
  }
}

/**
 * `--state`: a status, or for compatibility a raw GNAP state (FINALIZED: every finalized
 * status), in any case; repeated, any of them.
 */
function statusArgument(value: string, previous: GrantStatus[] = []): GrantStatus[] {
  const named = statusesNamed(value)
  if (!named) {
    throw new InvalidArgumentError(
      `--state must be one of ${grantStatuses.join(', ')} (or a GNAP state: ${grantStates.join(', ')})`
    )
  }
  return [...new Set([...previous, ...named])]
}

/** The grant service's refusal of a listing, naming the option. */
function optionProblem(problem: GrantSearchProblem): string {
  switch (problem.field) {
    case 'tenantId':
      return '--tenant must be a UUID'
    case 'after':
    case 'before':
      return '--after must be a UUID'
    case 'size':
      return `--limit takes a whole number from 1 to ${problem.max}`
  }
}

export function registerGrantCommands(program: Command): void {
  const grants = program.command('grants').description('find, read and revoke grants')

  grants
    .command('list')
    .description('list grants, newest first (at a terminal, fitted to its width; piped, whole)')
    .option(
      '--wallet <url>',
      'grants with access to this wallet address (repeatable)',
      (v: string, p: string[] = []) => [...p, v]
    )
    .option(
      '--state <status>',
      `only this status (repeatable): ${grantStatuses.join(', ')}; or a GNAP state: ${grantStates.join(', ')}`,
      statusArgument
    )
    .option(
      '--reason <reason>',
      `only this finalization reason (repeatable): ${finalizationReasons.join(', ')}`,
      oneOf(finalizationReasons, '--reason')
    )
    .option('--tenant <id>', "only this tenant's grants")
    .option(`--limit <n>`, `at most this many (1 to ${MAX_LIMIT})`, wholeNumber(1, MAX_LIMIT), 20)
    .option('--after <id>', 'the page after this grant (its id, the last of the previous page)')
    .option('--json', 'print JSON')
    .action(
      (options: {
        wallet?: string[]
        state?: GrantStatus[]
        reason?: (typeof finalizationReasons)[number][]
        tenant?: string
        limit: number
        after?: string
        json?: boolean
      }) =>
        withServices('opas grants list', async (services) => {
          const rows = await services.grantOperations
            .list(
              cliCall(services),
              {
                ...(options.tenant ? { tenantId: options.tenant } : {}),
                ...(options.wallet ? { identifiers: options.wallet } : {}),
                ...(options.state ? { statusIn: options.state } : {}),
                ...(options.reason ? { reasonIn: options.reason } : {})
              },
              { limit: options.limit, after: options.after }
            )
            .catch((err: unknown) => {
              throw err instanceof GrantSearchError
                ? new CliUsageError(optionProblem(err.problem))
                : err
            })
          if (options.json) return printJson(rows.map((g) => ({ ...g, status: statusOf(g) })))
          if (rows.length === 0) return print('no grants')
          const width = terminalWidth()
          const fitted = fitTable(grantColumns, rows.map(grantRow), width)
          print(fitted.text)
          if (fitted.leftOut.length) {
            print(
              `left out to fit ${width} columns: ${fitted.leftOut.join(', ')} (grants show <id> has all)`
            )
          }
          if (rows.length === options.limit) print(`more: --after ${rows.at(-1)!.id}`)
        })
    )

  grants
    .command('show')
    .description(
      'show one grant: its status, what it allows in words, its history (who did what), its interactions and tokens'
    )
    .argument('<id>', 'grant id', uuidArgument('the grant id'))
    .option('--json', 'print JSON')
    .action((id: string, options: { json?: boolean }) =>
      withServices('opas grants show', async (services) => {
        const found = await services.grantOperations.read(cliCall(services), id)
        if (!found) throw new CliError(`no grant ${id}`)
        const { grant, history, events } = found
        if (options.json)
          return printJson({ ...grant, status: statusOf(grant), ...history, events })
        print(grantShown(grant, history, events))
      })
    )

  grants
    .command('revoke')
    .description('revoke a grant and every token of it (as the client cancelling it would)')
    .argument('<id>', 'grant id', uuidArgument('the grant id'))
    .action((id: string) =>
      withServices('opas grants revoke', async (services) => {
        // Revoked with its audit event (this shell's user@host its actor), once.
        if (!(await services.grantOperations.revoke(cliCall(services), id))) {
          throw new CliError(`no grant ${id}`)
        }
        print(`revoked grant ${id}`)
      })
    )
}
