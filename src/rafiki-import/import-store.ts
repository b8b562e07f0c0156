import type { Queryable } from '../storage/db.js'

/**
 * Writes a batch of imported rows into opas's tables: one statement per table and batch, each
 * row passed as JSON and typed by `jsonb_to_recordset`, so a batch of thousands is one round
 * trip. A row whose id opas already holds is left as opas has it (`on conflict do nothing`):
 * an import never brings back what opas has changed since. Answers how many rows were new.
 */

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

export async function insertImported(
  tx: Queryable,
  table: ImportTable,
  rows: readonly object[]
): Promise<number> {
  if (rows.length === 0) return 0
  const columns = Object.entries(tables[table])
  const names = columns.map(([name]) => name).join(', ')
  const typed = columns.map(([name, type]) => `${name} ${type}`).join(', ')
  const { rowCount } = await tx.query(
    `insert into ${table} (${names})
     select ${names} from jsonb_to_recordset($1::jsonb) as x(${typed})
     on conflict do nothing`,
    [JSON.stringify(rows.map(toJson))]
  )
  return rowCount
}
