import { Option, type Command } from 'commander'
import type { TenantInput } from '../tenant/tenant-directory.js'
import type { Forbidden } from '../tenant/tenant-operations.js'
import {
  MIN_SECRET_LENGTH,
  describeTenantProblem,
  type TenantField,
  type TenantProblem
} from '../tenant/tenant-rules.js'
import { CliError, CliUsageError } from './commands.js'
import {
  cliCall,
  print,
  printJson,
  table,
  uuidArgument,
  withServices
} from './operator-commands.js'

/*
 * `opas tenants …`: the tenant operations (tenant/tenant-operations.ts), as the service API and
 * the console call them; the command parses its options, calls, and words the outcome.
 */

/** The options that set a tenant's fields, by the field. */
const optionNames: Record<TenantField, string> = {
  id: '--id',
  apiSecret: '--api-secret',
  idpConsentUrl: '--idp-consent-url',
  idpSecret: '--idp-secret',
  webhookUrl: '--webhook-url',
  webhookSecret: '--webhook-secret'
}

/** The tenant rules' refusal, naming the option: the service API's words, the CLI's names. */
export const optionProblem = (problem: TenantProblem): string =>
  describeTenantProblem(problem, optionNames[problem.field])

/** The webhook options of `tenants update`, as commander reads them. */
interface WebhookOptions {
  /** A URL; false for `--no-webhook-url`. */
  webhookUrl?: string | false
  webhookSecret?: string
  newWebhookSecret?: true
}

/**
 * The webhook options as the tenant directory takes them: `--no-webhook-url` removes the URL
 * (and its secret), `--new-webhook-secret` drops the secret so that the directory generates
 * another (while a URL stays).
 */
function webhookInput(options: WebhookOptions): Pick<TenantInput, 'webhookUrl' | 'webhookSecret'> {
  const { webhookUrl, webhookSecret, newWebhookSecret } = options
  return {
    ...(webhookUrl === undefined ? {} : { webhookUrl: webhookUrl === false ? null : webhookUrl }),
    ...(webhookSecret === undefined ? {} : { webhookSecret }),
    ...(newWebhookSecret ? { webhookSecret: null } : {})
  }
}

/** A webhook secret the directory generated, printed this once (it is never shown again). */
function printWebhookSecret(secret: string | undefined): void {
  if (secret) print(`its webhook secret (shown once): ${secret}`)
}

const webhookSecretHelp = `the key of its webhooks' Rafiki-Signature (at least ${MIN_SECRET_LENGTH} characters; generated and shown once when a URL is set without one)`

/** The operator at the shell manages every tenant: a refusal would be a bug, said plainly. */
function refused(outcome: Forbidden): never {
  throw new CliError(`not allowed to manage tenants (${outcome.outcome})`)
}

export function registerTenantCommands(program: Command): void {
  const tenants = program
    .command('tenants')
    .description("manage tenants (the service API's operations)")

  tenants
    .command('list')
    .description('list live tenants')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withServices('opas tenants list', async (services) => {
        const listed = await services.tenantOperations.list(cliCall(services))
        if (listed.outcome === 'forbidden') return refused(listed)
        if (options.json) return printJson(listed.tenants)
        print(
          table(
            ['id', 'IdP consent URL', 'IdP secret', 'webhook URL', 'created'],
            listed.tenants.map((t) => [
              t.id,
              t.idpConsentUrl,
              t.hasIdpSecret ? 'set' : 'none',
              t.webhookUrl,
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
        const shown = await services.tenantOperations.show(cliCall(services), id)
        if (shown.outcome === 'forbidden') return refused(shown)
        if (shown.outcome === 'not_found') throw new CliError(`no tenant ${id}`)
        const { tenant } = shown
        if (options.json) return printJson(tenant)
        print(
          table(
            ['id', 'IdP consent URL', 'IdP secret', 'webhook URL', 'webhook secret'],
            [
              [
                tenant.id,
                tenant.idpConsentUrl,
                tenant.hasIdpSecret ? 'set' : 'none',
                tenant.webhookUrl,
                tenant.hasWebhookSecret ? 'set' : 'none'
              ]
            ]
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
    .option('--webhook-url <url>', "the tenant's own webhook receiver (else WEBHOOK_URL's)")
    .option('--webhook-secret <secret>', webhookSecretHelp)
    .option('--json', 'print JSON')
    .action(
      (options: {
        id?: string
        apiSecret?: string
        idpConsentUrl?: string
        idpSecret?: string
        webhookUrl?: string
        webhookSecret?: string
        json?: boolean
      }) =>
        withServices('opas tenants create', async (services) => {
          const created = await services.tenantOperations.create(cliCall(services), {
            ...(options.id === undefined ? {} : { id: options.id }),
            ...(options.apiSecret === undefined ? {} : { apiSecret: options.apiSecret }),
            idpConsentUrl: options.idpConsentUrl ?? null,
            idpSecret: options.idpSecret ?? null,
            ...webhookInput(options)
          })
          if (created.outcome === 'forbidden') return refused(created)
          if (created.outcome === 'invalid') throw new CliUsageError(optionProblem(created.problem))
          if (created.outcome === 'conflict') {
            throw new CliError(
              options.id
                ? `a tenant ${options.id} exists (or was deleted)`
                : 'the generated tenant id is taken: try again'
            )
          }
          const { generatedApiSecret: apiSecret, generatedWebhookSecret: webhookSecret } = created
          const result = {
            id: created.id,
            ...(apiSecret ? { apiSecret } : {}),
            ...(webhookSecret ? { webhookSecret } : {})
          }
          if (options.json) return printJson(result)
          print(`created tenant ${created.id}`)
          if (apiSecret) print(`its API secret (shown once): ${apiSecret}`)
          printWebhookSecret(webhookSecret)
        })
    )

  tenants
    .command('update')
    .description('change a tenant')
    .argument('<id>', 'tenant id', uuidArgument('the tenant id'))
    .option('--api-secret <secret>', `a new API secret (at least ${MIN_SECRET_LENGTH} characters)`)
    .option('--idp-consent-url <url>', 'a new IdP consent URL')
    .option('--idp-secret <secret>', `a new IdP secret (at least ${MIN_SECRET_LENGTH} characters)`)
    .option('--webhook-url <url>', "a new webhook receiver of the tenant's own")
    .option('--no-webhook-url', 'remove its webhook receiver and secret (back to WEBHOOK_URL)')
    .option('--webhook-secret <secret>', webhookSecretHelp)
    .addOption(
      new Option('--new-webhook-secret', 'generate a new webhook secret, shown once').conflicts(
        'webhookSecret'
      )
    )
    .action(
      (
        id: string,
        options: {
          apiSecret?: string
          idpConsentUrl?: string
          idpSecret?: string
        } & WebhookOptions
      ) => {
        // Which options were given is the command line's own question, answered before the
        // database is opened; whether their values are acceptable is the tenant rules'.
        if (Object.keys(options).length === 0) {
          throw new CliUsageError(
            'give at least one of --api-secret, --idp-consent-url, --idp-secret, --webhook-url, ' +
              '--no-webhook-url, --webhook-secret, --new-webhook-secret'
          )
        }
        const { apiSecret, idpConsentUrl, idpSecret } = options
        const input: TenantInput = {
          ...(apiSecret === undefined ? {} : { apiSecret }),
          ...(idpConsentUrl === undefined ? {} : { idpConsentUrl }),
          ...(idpSecret === undefined ? {} : { idpSecret }),
          ...webhookInput(options)
        }
        return withServices('opas tenants update', async (services) => {
          const updated = await services.tenantOperations.update(cliCall(services), id, input)
          if (updated.outcome === 'forbidden') return refused(updated)
          if (updated.outcome === 'invalid') throw new CliUsageError(optionProblem(updated.problem))
          if (updated.outcome === 'not_found') throw new CliError(`no tenant ${id}`)
          print(`updated tenant ${id}`)
          printWebhookSecret(updated.generatedWebhookSecret)
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
        const removed = await services.tenantOperations.remove(cliCall(services), id)
        switch (removed.outcome) {
          case 'deleted':
            return print(`deleted tenant ${id}`)
          case 'not_found':
            throw new CliError(`no tenant ${id}`)
          case 'invalid_date':
          case 'own_tenant':
            throw new CliError(`tenant ${id} not deleted (${removed.outcome})`)
          case 'forbidden':
            return refused(removed)
        }
      })
    )
}
