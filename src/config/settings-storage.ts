import type { SettingsOf } from './setting-spec.js'
import { boolean, integer, text, url } from './value-parsers.js'

const filePath = text('file path')

/** Where grants and tokens are stored, how they are cleaned up, and the optional Redis. */
export const storageSettings: SettingsOf<
  | 'databaseUrl'
  | 'databasePoolSize'
  | 'databasePreparedStatements'
  | 'databaseWaitSeconds'
  | 'dataDir'
  | 'embeddedDatabaseUser'
  | 'allowEmbeddedDatabaseInProduction'
  | 'enableManualMigrations'
  | 'databaseCleanupWorkers'
  | 'cleanupIntervalSeconds'
  | 'accessTokenDeletionDays'
  | 'pendingGrantDeletionDays'
  | 'grantDeletionDays'
  | 'eventRetentionDays'
  | 'redisUrl'
  | 'redisTlsCaFilePath'
  | 'redisTlsKeyFilePath'
  | 'redisTlsCertFilePath'
> = {
  databaseUrl: {
    env: 'AUTH_DATABASE_URL',
    fallbackEnv: ['DATABASE_URL'],
    parser: url(['postgres:', 'postgresql:'], 'postgres(ql):// URL'),
    default: undefined,
    urlWithCredentials: true,
    description:
      'External PostgreSQL database (AUTH_DATABASE_URL wins over DATABASE_URL). ' +
      'Unset: opas runs an embedded PostgreSQL server of its own in DATA_DIR.',
    origin: 'rafiki'
  },
  databasePoolSize: {
    env: 'DATABASE_POOL_SIZE',
    parser: integer(1, 200),
    // Each connection of the embedded server is a process of its own (about 4 MB of its own):
    // five serve 16 concurrent clients there as fast as ten (bench).
    default: ({ embeddedDatabase }) => (embeddedDatabase ? 5 : 10),
    defaultText: '`10`; `5` on the embedded database',
    description:
      'Maximum number of connections opened to the database. The embedded server keeps each ' +
      'connection in a process of its own, so its default is smaller. While webhooks are on, ' +
      'each process opens one more, its own to read and send them.',
    origin: 'opas'
  },
  databasePreparedStatements: {
    env: 'DATABASE_PREPARED_STATEMENTS',
    parser: boolean(),
    default: true,
    description:
      'Name each parameterised statement, so that PostgreSQL parses and plans it once per ' +
      'connection. Set to false behind a connection pooler in transaction mode that does not ' +
      'keep prepared statements (PgBouncer before 1.21, or with `max_prepared_statements = 0`): ' +
      'every statement is then sent unnamed, which any pooled connection runs. The embedded ' +
      'database always names them.',
    origin: 'opas'
  },
  databaseWaitSeconds: {
    env: 'DATABASE_WAIT_SECONDS',
    parser: integer(0, 3600),
    default: 60,
    description:
      'How long a start waits for an external database that does not answer yet (not running, ' +
      'starting up, its name not yet resolvable: compose starts services in any order), trying ' +
      'again with backoff and logging each attempt. A refused password or a missing database is ' +
      'not waited for. 0 gives up at the first failure.',
    origin: 'opas'
  },

  dataDir: {
    env: 'DATA_DIR',
    parser: text('directory or `memory://`'),
    default: './data',
    description:
      'Directory of the embedded database (when no database URL is set): opas runs a private ' +
      'PostgreSQL server on its files in `postgres/`, reached only through a Unix socket and ' +
      'a password kept in `postgres.password`. Settings generated outside production are kept ' +
      'in `generated.env` (with any database). Closed to other users (0700). `memory://` ' +
      'gives a throwaway database instead, gone when opas stops.',
    origin: 'opas'
  },
  embeddedDatabaseUser: {
    env: 'EMBEDDED_DATABASE_USER',
    parser: text('user name'),
    default: undefined,
    defaultText: 'unset: the owner of an existing database, else `opas-postgres` (created)',
    description:
      'When opas runs as root: the unprivileged system user that runs the embedded PostgreSQL ' +
      'server (PostgreSQL refuses to run as root). Unset, opas creates the system user ' +
      '`opas-postgres` (no home, no login) on first need. A named user must exist and must not ' +
      'be `nobody` or another user that unrelated processes share. Otherwise the server runs as ' +
      'the user running opas, and this is ignored.',
    origin: 'opas'
  },
  allowEmbeddedDatabaseInProduction: {
    env: 'ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION',
    parser: boolean(),
    default: false,
    description:
      'With NODE_ENV=production, opas refuses to start on the embedded database (one process, ' +
      'no replica, no backup tooling) unless this is true.',
    origin: 'opas'
  },
  enableManualMigrations: {
    env: 'ENABLE_MANUAL_MIGRATIONS',
    parser: boolean(),
    default: false,
    description:
      'When true, `opas start` does not migrate the database; run `opas migrate` yourself ' +
      '(useful when several replicas start at once).',
    origin: 'rafiki'
  },
  databaseCleanupWorkers: {
    env: 'DATABASE_CLEANUP_WORKERS',
    parser: integer(0, 100),
    default: 1,
    description:
      '0 turns off the retention job that deletes expired and revoked tokens, finished grants ' +
      'with no token left, abandoned grants and stale replay records; any other value runs it ' +
      '(one pass at a time per process, in short batches; every process may run it).',
    origin: 'rafiki'
  },
  cleanupIntervalSeconds: {
    env: 'CLEANUP_INTERVAL_SECONDS',
    parser: integer(1, 86_400),
    default: 60,
    description: 'Seconds between two passes of the retention job (Rafiki ran it once, at boot).',
    origin: 'opas'
  },
  accessTokenDeletionDays: {
    env: 'ACCESS_TOKEN_DELETION_DAYS',
    parser: integer(0, 36500),
    default: 30,
    description:
      'Days an expired or revoked access token is kept before the retention job deletes it; ' +
      'a finished grant goes as long after its last token.',
    origin: 'rafiki'
  },
  pendingGrantDeletionDays: {
    env: 'PENDING_GRANT_DELETION_DAYS',
    parser: integer(0, 36500),
    default: 1,
    description:
      'Days after its interaction expired (INTERACTION_EXPIRY_SECONDS) that a grant never ' +
      'finished is deleted, with its interaction.',
    origin: 'opas'
  },
  grantDeletionDays: {
    env: 'GRANT_DELETION_DAYS',
    parser: integer(0, 36500),
    default: undefined,
    defaultText: 'unset: finished grants are kept',
    description:
      'Days after its last change that a finished grant (issued, revoked or rejected) with no ' +
      'token left is deleted. Unset, finished grants stay listable in the admin API and the ' +
      'CLI, as in Rafiki; their tokens still go after ACCESS_TOKEN_DELETION_DAYS.',
    origin: 'opas'
  },
  eventRetentionDays: {
    env: 'EVENT_RETENTION_DAYS',
    parser: integer(1, 36500),
    default: 365,
    description:
      'Days the audit trail keeps an event (who changed what, when, from where) before the ' +
      'retention job deletes it. A grant purged earlier keeps its events until then.',
    origin: 'opas'
  },
  redisUrl: {
    env: 'REDIS_URL',
    parser: url(['redis:', 'rediss:'], 'redis(s):// URL'),
    default: undefined,
    urlWithCredentials: true,
    description:
      'Optional Redis, reserved for rate limits shared between replicas. opas does not require ' +
      'Redis (Rafiki defaulted to `redis://127.0.0.1:6379`; opas leaves it unset).',
    origin: 'rafiki'
  },
  redisTlsCaFilePath: {
    env: 'REDIS_TLS_CA_FILE_PATH',
    parser: filePath,
    default: undefined,
    description: 'CA certificate file trusted for a TLS connection to REDIS_URL.',
    origin: 'rafiki'
  },
  redisTlsKeyFilePath: {
    env: 'REDIS_TLS_KEY_FILE_PATH',
    parser: filePath,
    default: undefined,
    description:
      'Client private key file for a mutually authenticated TLS connection to REDIS_URL.',
    origin: 'rafiki'
  },
  redisTlsCertFilePath: {
    env: 'REDIS_TLS_CERT_FILE_PATH',
    parser: filePath,
    default: undefined,
    description:
      'Client certificate file for a mutually authenticated TLS connection to REDIS_URL.',
    origin: 'rafiki'
  }
}
