import { randomUUID } from 'node:crypto'
import { hostname, userInfo } from 'node:os'
import Table from 'cli-table3'
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { finalizationReasons, grantStates } from '../gnap/grant-states.js'
import { isUuid } from '../gnap/wire.js'
import { grantStatuses, statusesNamed, statusOf, type GrantStatus } from '../grant/grant-status.js'
import { createLogger } from '../logger.js'
import { openServices } from '../server.js'
import type { Services } from '../deps.js'
import type { EventOrigin } from '../audit/events.js'
import {
  MIN_SECRET_LENGTH,
  describeTenantProblem,
  type TenantField,
  type TenantProblem
} from '../tenant/tenant-rules.js'
import { CliError, CliUsageError, loadCliConfig } from './commands.js'
import { fitTable } from './fit-table.js'
import { grantColumns, grantRow, grantShown } from './grant-lines.js'

/*
 * `opas tenants …` and `opas grants …`: the operator's CLI on the same services as the service
 * API and the admin API. Readable tables by default, `--json` for scripts.
 */

/** Runs `run` on the services over the configured database (beside a running server too). */
export async function withServices<T>(
  command: string,
  run: (services: Services) => Promise<T>
): Promise<T> {
  const opened = await openServices(loadCliConfig(), command, createLogger('silent'))
  try {
    return await run(opened.services)
  } finally {
    await opened.close()
  }
}

/**
 * The operator at this shell, for the audit trail: the OS user (its uid when the system has no
 * name for it, as in a container) and the host.
 */
export function cliOrigin(): EventOrigin {
  let user: string
  try {
    user = userInfo().username
  } catch {
    user = `uid ${process.getuid?.() ?? 'unknown'}`
  }
  return { actor: { kind: 'cli', user, host: hostname() } }
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`)
}
export const printJson = (value: unknown) => print(JSON.stringify(value, null, 2))

export function table(head: string[], rows: (string | null)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } })
  for (const row of rows) t.push(row.map((cell) => cell ?? ''))
  return t.toString()
}

export function uuidArgument(what: string) {
  return (value: string) => {
    if (!isUuid(value)) throw new InvalidArgumentError(`${what} must be a UUID`)
    return value.toLowerCase()
  }
}

/** The options that set a tenant's fields, by the field. */
const optionNames: Record<TenantField, string> = {
  id: '--id',
  apiSecret: '--api-secret',
  idpConsentUrl: '--idp-consent-url',
  idpSecret: '--idp-secret'
}

/** The tenant directory's refusal, naming the option. */
const optionProblem = (problem: TenantProblem) =>
  describeTenantProblem(problem, optionNames[problem.field])

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

/** A whole number from `min` to `max`, or a usage error saying so. */
export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`takes a whole number from ${min} to ${max}`)
    }
    return n
  }
}

/** The width to fit: the terminal's, or none when the output is piped or sent to a file. */
export const terminalWidth = () => (process.stdout.isTTY ? process.stdout.columns : undefined)

export function registerOperatorCommands(program: Command): void {
  const tenants = program
    .command('tenants')
    .description("manage tenants (the service API's operations)")

  tenants
    .command('list')
    .description('list live tenants')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withServices('opas tenants list', async (services) => {
        const list = await services.tenants.list()
        if (options.json) return printJson(list)
        print(
          table(
            ['id', 'IdP consent URL', 'IdP secret', 'created'],
            list.map((t) => [
              t.id,
              t.idpConsentUrl,
              t.hasIdpSecret ? 'set' : 'none',
              t.createdAt.toISOString()
            ])
          )
        )
      })
    )

  tenants
    .command('show')
    .description('show one tenant')
    .argument('<id>', 'tenant id', uuidArgument('the tenant id'))
    .option('--json', 'print JSON')
    .action((id: string, options: { json?: boolean }) =>
      withServices('opas tenants show', async (services) => {
        const tenant = await services.tenants.show(id)
        if (!tenant) throw new CliError(`no tenant ${id}`)
        if (options.json) return printJson(tenant)
        print(
          table(
            ['id', 'IdP consent URL', 'IdP secret'],
            [[tenant.id, tenant.idpConsentUrl, tenant.hasIdpSecret ? 'set' : 'none']]
          )
        )
      })
    )

  tenants
    .command('create')
    .description('create a tenant (a new id and API secret are generated unless given)')
    .option('--id <uuid>', 'the tenant id')
    .option(
      '--api-secret <secret>',
      `the key of the tenant's admin API signatures (at least ${MIN_SECRET_LENGTH} characters)`
    )
    .option('--idp-consent-url <url>', "the consent page of the tenant's identity provider")
    .option(
      '--idp-secret <secret>',
      `the secret its identity provider sends, x-idp-secret (at least ${MIN_SECRET_LENGTH} characters)`
    )
    .option('--json', 'print JSON')
    .action(
      (options: {
        id?: string
        apiSecret?: string
        idpConsentUrl?: string
        idpSecret?: string
        json?: boolean
      }) =>
        withServices('opas tenants create', async (services) => {
          const id = options.id ?? randomUUID()
          const created = await services.tenants.create(
            id,
            {
              ...(options.apiSecret === undefined ? {} : { apiSecret: options.apiSecret }),
              idpConsentUrl: options.idpConsentUrl ?? null,
              idpSecret: options.idpSecret ?? null
            },
            cliOrigin()
          )
          if (created.outcome === 'invalid') throw new CliUsageError(optionProblem(created.problem))
          if (created.outcome === 'conflict') {
            throw new CliError(`a tenant ${id} exists (or was deleted)`)
          }
          const apiSecret = created.generatedApiSecret
          const result = { id: created.id, ...(apiSecret ? { apiSecret } : {}) }
          if (options.json) return printJson(result)
          print(`created tenant ${created.id}`)
          if (apiSecret) print(`its API secret (shown once): ${apiSecret}`)
        })
    )

  tenants
    .command('update')
    .description('change a tenant')
    .argument('<id>', 'tenant id', uuidArgument('the tenant id'))
    .option('--api-secret <secret>', `a new API secret (at least ${MIN_SECRET_LENGTH} characters)`)
    .option('--idp-consent-url <url>', 'a new IdP consent URL')
    .option('--idp-secret <secret>', `a new IdP secret (at least ${MIN_SECRET_LENGTH} characters)`)
    .action(
      (id: string, options: { apiSecret?: string; idpConsentUrl?: string; idpSecret?: string }) => {
        if (Object.keys(options).length === 0) {
          throw new CliUsageError(
            'give at least one of --api-secret, --idp-consent-url, --idp-secret'
          )
        }
        return withServices('opas tenants update', async (services) => {
          const updated = await services.tenants.update(id, options, cliOrigin())
          if (updated.outcome === 'invalid') throw new CliUsageError(optionProblem(updated.problem))
          if (updated.outcome === 'not_found') throw new CliError(`no tenant ${id}`)
          print(`updated tenant ${id}`)
        })
      }
    )

  tenants
    .command('delete')
    .description(
      'soft-delete a tenant: its grant endpoint answers 404, its tokens stop being active'
    )
    .argument('<id>', 'tenant id', uuidArgument('the tenant id'))
    .action((id: string) =>
      withServices('opas tenants delete', async (services) => {
        if (!(await services.tenants.remove(id, new Date(), cliOrigin()))) {
          throw new CliError(`no tenant ${id}`)
        }
        print(`deleted tenant ${id}`)
      })
    )

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
    .option('--tenant <id>', "only this tenant's grants", uuidArgument('--tenant'))
    .option('--limit <n>', 'at most this many (1 to 100)', wholeNumber(1, 100), 20)
    .option(
      '--after <id>',
      'the page after this grant (its id, the last of the previous page)',
      uuidArgument('--after')
    )
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
          const rows = await services.grants.admin.list(
            {
              ...(options.tenant ? { tenantId: options.tenant } : {}),
              ...(options.wallet ? { identifiers: options.wallet } : {}),
              ...(options.state ? { statusIn: options.state } : {}),
              ...(options.reason ? { reasonIn: options.reason } : {})
            },
            {
              order: 'DESC',
              direction: 'after',
              limit: options.limit,
              ...(options.after ? { cursor: options.after } : {})
            }
          )
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
    .description('show one grant: its status, what it allows in words, its interactions and tokens')
    .argument('<id>', 'grant id', uuidArgument('the grant id'))
    .option('--json', 'print JSON')
    .action((id: string, options: { json?: boolean }) =>
      withServices('opas grants show', async (services) => {
        const [grant, history] = await Promise.all([
          services.grants.admin.find(id),
          services.grants.admin.history(id)
        ])
        if (!grant || !history) throw new CliError(`no grant ${id}`)
        if (options.json) return printJson({ ...grant, status: statusOf(grant), ...history })
        print(grantShown(grant, history))
      })
    )

  grants
    .command('revoke')
    .description('revoke a grant and every token of it (as the client cancelling it would)')
    .argument('<id>', 'grant id', uuidArgument('the grant id'))
    .action((id: string) =>
      withServices('opas grants revoke', async (services) => {
        // No lifecycle line: the operator commands' services log nothing (a silent logger, so
        // that a command prints only its answer); the answer below is the record.
        if (!(await services.grants.admin.revoke(id, undefined, cliOrigin()))) {
          throw new CliError(`no grant ${id}`)
        }
        print(`revoked grant ${id}`)
      })
    )
}
