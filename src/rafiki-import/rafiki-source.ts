import type { Queryable } from '../storage/db.js'

/**
 * The Rafiki auth database `opas import rafiki` reads (issue 25). Its schema is whatever its
 * knex migrations (interledger/rafiki, packages/auth/migrations) made it, so the import reads
 * only a source whose `knex_migrations` lists exactly the migrations it was written for: a
 * migration it does not know may have changed what a column means, and reading such a source
 * could carry a token or a grant over wrongly.
 */

/** The migrations of Rafiki's auth service, in order, that this import understands. */
export const knownRafikiMigrations = [
  '20220504161932_create_grants_table.js',
  '20220504163005_create_access_token_table.js',
  '20220504163024_create_accesses_table.js',
  '20230810154819_create_interactions_table.js',
  '20230907201006_rename-limits-jsonb-keys.js',
  '20230925183132_add_finalization_reason_grants.js',
  '20231214184608_add_last_continued_at_drop_wait_grants.js',
  '20240802171939_add_revoked_at_to_access_tokens.js',
  '20241125233415_create_tenants_table.js',
  '20241205153036_seed_operator_tenant.js',
  '20241206232423_add_tenant_to_grant.js',
  '20250509114109_create_subject_table.js',
  '20251007160028_seed_operator_tenant_api_secret.js',
  '20260212120000_add_jwk_make_client_optional.js'
] as const

/** A source the import will not read, with what to do about it. */
export class RafikiSourceError extends Error {}

/**
 * Refuses a source that is not at the Rafiki version this import knows: a migration it does
 * not know (a newer Rafiki), or one it needs that is missing (an older Rafiki, to be upgraded
 * first, so that its own migrations bring the data to the shape read here).
 */
export function checkRafikiMigrations(applied: readonly string[]): void {
  const known = new Set<string>(knownRafikiMigrations)
  const unknown = applied.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    throw new RafikiSourceError(
      `the Rafiki database has migration(s) this opas does not know: ${unknown.join(', ')}. ` +
        'It comes from a newer Rafiki than this import reads; use an opas release that knows ' +
        'it, or import from a Rafiki at 20260212120000_add_jwk_make_client_optional'
    )
  }
  const present = new Set(applied)
  const missing = knownRafikiMigrations.filter((name) => !present.has(name))
  if (missing.length > 0) {
    throw new RafikiSourceError(
      `the Rafiki database lacks migration(s) ${missing.join(', ')}: upgrade Rafiki's auth ` +
        'service (its migrations run at start) before importing'
    )
  }
}

/**
 * The migrations the source has applied, in the order knex applied them; refused when the
 * database is not a Rafiki auth database at all. Read inside the caller's read-only
 * transaction, as everything the import reads.
 */
export async function readRafikiMigrations(source: Queryable): Promise<string[]> {
  const table = await source.query<{ exists: boolean }>(
    "select to_regclass('knex_migrations') is not null and to_regclass('\"accessTokens\"') is not null as exists"
  )
  if (!table.rows[0]?.exists) {
    throw new RafikiSourceError(
      'this database is not a Rafiki auth database (it has no knex_migrations and ' +
        'accessTokens tables): give --from the URL of the database Rafiki auth uses ' +
        '(its AUTH_DATABASE_URL)'
    )
  }
  const { rows } = await source.query<{ name: string }>(
    'select name from knex_migrations order by id'
  )
  return rows.map((row) => row.name)
}
