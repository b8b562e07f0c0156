/**
 * Why a test may not run here. A test that needs something the machine may lack skips with one
 * of these reasons, and scripts/run-tests.mjs reports every skip; under .ci/run
 * (OPAS_TEST_NO_UNEXPECTED_SKIPS=1) the only skip allowed is a PostgreSQL-only test in the
 * pass on the embedded database, which runs in the PostgreSQL pass. The prefix is what run-tests.mjs matches.
 */
export const POSTGRES_ONLY = 'needs PostgreSQL (OPAS_TEST_DATABASE_URL)'

/** `skip` for a test that needs the PostgreSQL server: false there, the reason elsewhere. */
export function postgresOnly(why?: string): string | false {
  if (process.env.OPAS_TEST_DATABASE_URL) return false
  return why === undefined ? POSTGRES_ONLY : `${POSTGRES_ONLY}: ${why}`
}

/** A test of opas behind PgBouncer without PgBouncer (.ci/run installs Debian's). */
export const PGBOUNCER_MISSING =
  'needs PgBouncer (OPAS_TEST_PGBOUNCER, or pgbouncer on PATH or in /usr/sbin)'
