import { isDeepStrictEqual } from 'node:util'
import type { AccessItem } from '../gnap/access.js'

// A granted `read-all` allows `read`, and `list-all` allows `list` (Open Payments access rules).
const impliedBy: Record<string, string> = { read: 'read-all', list: 'list-all' }

function allows(granted: AccessItem, requested: AccessItem): boolean {
  if (granted.type !== requested.type) return false
  // A granted item without an identifier covers any account (non-interactive incoming-payment
  // and quote grants); both identifiers present must be equal.
  if (
    granted.identifier !== undefined &&
    requested.identifier !== undefined &&
    granted.identifier !== requested.identifier
  ) {
    return false
  }
  if (requested.limits !== undefined && !isDeepStrictEqual(requested.limits, granted.limits))
    return false
  return requested.actions.every((action) => {
    const wider = impliedBy[action]
    return (
      granted.actions.includes(action) || (wider !== undefined && granted.actions.includes(wider))
    )
  })
}

/**
 * Rafiki's introspection matching (behaviour §8): for each requested item in order, the first
 * granted item that allows it; requested items nothing allows are dropped. A resource server
 * requires exactly one match per item it asks about.
 */
export function matchAccess(requested: AccessItem[], granted: AccessItem[]): AccessItem[] {
  const matched: AccessItem[] = []
  for (const item of requested) {
    const match = granted.find((g) => allows(g, item))
    if (match) matched.push(match)
  }
  return matched
}
