import { grantStates } from '../gnap/grant-states.js'
import type { Queryable } from '../storage/db.js'

/**
 * Writes a batch of imported rows into opas's tables: one statement per table and batch, each
 * row passed as JSON and typed by `jsonb_to_recordset`, so a batch of thousands is one round
 * trip. A row opas already holds (an earlier run) takes only what moved forward in Rafiki since,
 * and never goes back: a token revoked in either stays revoked, a grant or interaction only
 * advances (PENDING, APPROVED, FINALIZED; PENDING, then APPROVED or DENIED), a tenant takes
 * Rafiki's values only when Rafiki changed it after opas last did, and a deletion stays. So a
 * run again before the cutover brings what changed in Rafiki, and nothing opas has done since
 * (a rotation, a revocation, a decision) is undone.
 */

/** grantStates is in the order a grant moves through them (RFC 9635 §1.5): forward is later. */
const grantStateOrder = `array[${grantStates.map((state) => `'${state}'`).join(', ')}]`

/** How an existing row takes a newer Rafiki one (`excluded`), per table; none: left as it is. */
const forward: Record<string, string> = {
  tenants: `do update set
      idp_consent_url = excluded.idp_consent_url, idp_secret_hash = excluded.idp_secret_hash,
      api_secret_encrypted = excluded.api_secret_encrypted, updated_at = excluded.updated_at,
      deleted_at = coalesce(tenants.deleted_at, excluded.deleted_at)
    where excluded.updated_at > tenants.updated_at
      or (tenants.deleted_at is null and excluded.deleted_at is not null)`,
  grants: `do update set
      state = excluded.state, finalization_reason = excluded.finalization_reason,
      last_continued_at = greatest(grants.last_continued_at, excluded.last_continued_at),
      updated_at = greatest(grants.updated_at, excluded.updated_at)
    where array_position(${grantStateOrder}, excluded.state)
        > array_position(${grantStateOrder}, grants.state)`,
  access_tokens: `do update set revoked_at = excluded.revoked_at
    where access_tokens.revoked_at is null and excluded.revoked_at is not null`,
  interactions: `do update set state = excluded.state, updated_at = excluded.updated_at
    where interactions.state = 'PENDING' and excluded.state <> 'PENDING'`
}

/** Each importable table's columns and their types, in the order of its rows' keys. */
const tables = {
  tenants: {
    id: 'uuid',
    idp_consent_url: 'text',
    idp_secret_hash: 'bytea',
    api_secret_encrypted: 'bytea',
    created_at: 'timestamptz',
    updated_at: 'timestamptz',
    deleted_at: 'timestamptz'
  },
  grants: {
    id: 'uuid',
    tenant_id: 'uuid',
    state: 'text',
    finalization_reason: 'text',
    start_method: 'text[]',
    continue_id: 'uuid',
    continue_token_hash: 'bytea',
    finish_method: 'text',
    finish_uri: 'text',
    client_nonce: 'text',
    grant_uri: 'text',
    client: 'text',
    jwk: 'jsonb',
    last_continued_at: 'timestamptz',
    created_at: 'timestamptz',
    updated_at: 'timestamptz'
  },
  accesses: {
    id: 'uuid',
    grant_id: 'uuid',
    position: 'smallint',
    type: 'text',
    actions: 'text[]',
    identifier: 'text',
    limits: 'jsonb',
    created_at: 'timestamptz'
  },
  subjects: {
    id: 'uuid',
    grant_id: 'uuid',
    position: 'smallint',
    sub_id: 'text',
    sub_id_format: 'text',
    created_at: 'timestamptz'
  },
  access_tokens: {
    id: 'uuid',
    grant_id: 'uuid',
    value_hash: 'bytea',
    management_id: 'uuid',
    expires_in: 'integer',
    revoked_at: 'timestamptz',
    created_at: 'timestamptz'
  },
  interactions: {
    id: 'uuid',
    grant_id: 'uuid',
    ref: 'uuid',
    nonce: 'text',
    state: 'text',
    expires_in: 'integer',
    created_at: 'timestamptz',
    updated_at: 'timestamptz'
  }
} as const

export type ImportTable = keyof typeof tables

/** JSON that jsonb_to_recordset reads back as the column types (bytea as `\x` hex). */
const toJson = (row: object) =>
  Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : value
    ])
  )

/** What a batch did: rows new to opas, rows moved forward, rows left as opas has them. */
export interface BatchOutcome {
  inserted: number
  advanced: number
  unchanged: number
}

export async function insertImported(
  tx: Queryable,
  table: ImportTable,
  rows: readonly object[]
): Promise<BatchOutcome> {
  if (rows.length === 0) return { inserted: 0, advanced: 0, unchanged: 0 }
  const columns = Object.entries(tables[table])
  const names = columns.map(([name]) => name).join(', ')
  const typed = columns.map(([name, type]) => `${name} ${type}`).join(', ')
  const conflict = forward[table] ? `on conflict (id) ${forward[table]}` : 'on conflict do nothing'
  // xmax is 0 for a row this statement inserted, the updating transaction's id for one it updated.
  const { rows: written } = await tx.query<{ inserted: boolean }>(
    `insert into ${table} (${names})
     select ${names} from jsonb_to_recordset($1::jsonb) as x(${typed})
     ${conflict}
     returning (xmax = 0) as inserted`,
    [JSON.stringify(rows.map(toJson))]
  )
  const inserted = written.filter((r) => r.inserted).length
  const advanced = written.length - inserted
  return { inserted, advanced, unchanged: rows.length - written.length }
}
