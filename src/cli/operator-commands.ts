import { hostname, userInfo } from 'node:os'
import Table from 'cli-table3'
import { InvalidArgumentError } from 'commander'
import { isUuid } from '../gnap/wire.js'
import { createLogger } from '../logger.js'
import { openServices } from '../server.js'
import type { Services } from '../deps.js'
import type { EventOrigin } from '../audit/events.js'
import type { OperatorCall } from '../grant/grant-operations.js'
import type { TenantCall } from '../tenant/tenant-operations.js'
import { loadCliConfig } from './commands.js'

/*
 * What the operator's commands share (`opas tenants …` in tenant-commands.ts, `opas grants …`
 * in grant-commands.ts, `opas events …`, `opas import`): the services over the configured
 * database, the operator at this shell as the caller, and the printing. Readable tables by
 * default, `--json` for scripts.
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

/**
 * The operator at this shell as the operator services' caller: every tenant's grants in scope
 * (whoever may run opas over its database may read them all). Its log is the services' own,
 * silent, so that a command prints only its answer: the audit event is the record.
 */
export const cliCall = (services: Services): OperatorCall & TenantCall => ({
  ...cliOrigin(),
  scope: 'all',
  log: services.logger
})

export function print(text: string): void {
  process.stdout.write(`${text}\n`)
}
export const printJson = (value: unknown) => print(JSON.stringify(value, null, 2))

export function table(head: string[], rows: (string | null)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } })
  for (const row of rows) t.push(row.map((cell) => cell ?? ''))
  return t.toString()
}

/**
 * A positional id that must be a UUID: refused by the parser, naming it, before the database is
 * opened (the services answer a malformed id as an unknown one).
 */
export function uuidArgument(what: string) {
  return (value: string) => {
    if (!isUuid(value)) throw new InvalidArgumentError(`${what} must be a UUID`)
    return value.toLowerCase()
  }
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
