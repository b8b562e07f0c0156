import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { MAX_EVENTS_PAGE } from '../audit/event-service.js'
import {
  eventTypes,
  isEventId,
  isEventType,
  type AuditEvent,
  type EventType
} from '../audit/events.js'
import { detailsInWords } from '../consent/event-words.js'
import { fitTable, type TableColumn } from './fit-table.js'
import {
  print,
  printJson,
  terminalWidth,
  uuidArgument,
  wholeNumber,
  withServices
} from './operator-commands.js'

/*
 * `opas events list`: the audit trail (who changed what, when, from where), newest first, as a
 * table fitted to the terminal or as JSON for scripts. The operator's view: every tenant's.
 */

function typeArgument(value: string, previous: EventType[] = []): EventType[] {
  if (!isEventType(value)) {
    throw new InvalidArgumentError(`must be one of ${eventTypes.join(', ')}`)
  }
  return [...new Set([...previous, value])]
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** A moment: an ISO 8601 date or time, or an age (`30m`, `12h`, `7d`) before `now`. */
export function momentArgument(value: string, now = Date.now()): Date {
  const age = /^(\d{1,6})([mhd])$/.exec(value)
  if (age) return new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS])
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN)
  if (Number.isNaN(at.getTime())) {
    throw new InvalidArgumentError(
      'takes an ISO 8601 date or time (2026-12-01, 2026-12-01T09:30:00Z) or an age (30m, 12h, 7d)'
    )
  }
  return at
}

export const eventColumns: TableColumn[] = [
  { head: 'at (UTC)' },
  { head: 'event' },
  { head: 'by', cutTo: 16, leaveOutRank: 5 },
  { head: 'grant', leaveOutRank: 3 },
  { head: 'tenant', cutTo: 9, cutFirst: true, leaveOutRank: 1 },
  { head: 'from', cutTo: 15, leaveOutRank: 2 },
  { head: 'details', cutTo: 12, cutFirst: true, leaveOutRank: 4 }
]

/** Who acted, in one cell: the kind, and which one when the kind does not say. */
export const actorLabel = (e: Pick<AuditEvent, 'actorKind' | 'actor'>): string =>
  e.actor === null ? e.actorKind : `${e.actorKind} ${e.actor}`

export const eventRow = (e: AuditEvent): string[] => [
  e.at.toISOString().replace('T', ' ').slice(0, 19),
  e.type,
  actorLabel(e),
  e.grantId ?? '',
  e.tenantId ?? '',
  e.remoteAddress ?? '',
  // In the console's words ("set IdP consent URL to …; removed IdP secret"); --json has them raw.
  detailsInWords(e)
]

export function registerEventCommands(program: Command): void {
  const events = program
    .command('events')
    .description('the audit trail: who changed what, when, and from where')

  events
    .command('list')
    .description('list events, newest first (at a terminal, fitted to its width; piped, whole)')
    .option('--grant <id>', "only this grant's events", uuidArgument('--grant'))
    .option('--tenant <id>', "only this tenant's events", uuidArgument('--tenant'))
    .option('--type <type>', `only this type (repeatable): ${eventTypes.join(', ')}`, typeArgument)
    .option('--wallet <url>', 'only events of this client wallet address (or jwk:<thumbprint>)')
    .option('--since <when>', 'from this moment: ISO 8601, or an age (30m, 12h, 7d)', (v) =>
      momentArgument(v)
    )
    .option('--until <when>', 'before this moment: ISO 8601, or an age', (v) => momentArgument(v))
    .option(
      '--limit <n>',
      `at most this many (1 to ${MAX_EVENTS_PAGE})`,
      wholeNumber(1, MAX_EVENTS_PAGE),
      50
    )
    .option(
      '--before <id>',
      'the page after this event (the last id of the previous page)',
      (value: string) => {
        if (!isEventId(value))
          throw new InvalidArgumentError('--before takes an event id (a number)')
        return value
      }
    )
    .option('--json', 'print JSON')
    .action(
      (options: {
        grant?: string
        tenant?: string
        type?: EventType[]
        wallet?: string
        since?: Date
        until?: Date
        limit: number
        before?: string
        json?: boolean
      }) =>
        withServices('opas events list', async (services) => {
          const list = await services.events.list(
            {
              ...(options.grant ? { grantId: options.grant } : {}),
              ...(options.tenant ? { tenantId: options.tenant } : {}),
              ...(options.type ? { typeIn: options.type } : {}),
              ...(options.wallet ? { walletAddress: options.wallet } : {}),
              ...(options.since ? { since: options.since } : {}),
              ...(options.until ? { until: options.until } : {})
            },
            { limit: options.limit, ...(options.before ? { before: options.before } : {}) }
          )
          if (options.json) return printJson(list)
          if (list.length === 0) return print('no events')
          const width = terminalWidth()
          const fitted = fitTable(eventColumns, list.map(eventRow), width)
          print(fitted.text)
          if (fitted.leftOut.length) {
            print(`left out to fit ${width} columns: ${fitted.leftOut.join(', ')} (--json has all)`)
          }
          if (list.length === options.limit) print(`more: --before ${list.at(-1)!.id}`)
        })
    )
}
