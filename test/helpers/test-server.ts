import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import pg from 'pg'
import type { Resolver } from '../../src/client-keys/index.js'
import { loadConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/logger.js'
import { ListenAddressError } from '../../src/http/listen-addresses.js'
import { startServer, type RunningServer } from '../../src/server.js'

/**
 * Tests run on throwaway embedded databases (`memory://`) by default; with OPAS_TEST_DATABASE_URL set (a PostgreSQL URL
 * whose user may create databases) each test server gets a throwaway database of its own.
 */
const postgresBase = process.env.OPAS_TEST_DATABASE_URL

/**
 * The kernel's ephemeral range: ports it hands to `listen(0)` and to outgoing connections. A
 * port found free by `listen(0)` and released can be handed straight to another process's
 * connection before our child binds it (CI once failed with EADDRINUSE that way), so test
 * ports are drawn from below this range instead, where only explicit binds land.
 */
function ephemeralRangeStart(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]
    )
    if (Number.isInteger(low) && low > 12_000) return low
  } catch {
    // not Linux: IANA's dynamic range starts at 49152
  }
  return 32_768
}

const portRange = { low: 10_000, high: ephemeralRangeStart() }
const handedOut = new Set<number>()

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A loopback port nothing listens on, picked at random below the ephemeral range and never
 * handed out twice in one process; concurrent test files pick independently, so a clash needs
 * two of them to draw the same port out of ~20,000 within the moment before either binds it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(portRange.low, portRange.high)
    if (handedOut.has(port)) continue
    handedOut.add(port)
    if (await canListen(port)) return port
  }
  throw new Error(`no free port found in ${portRange.low}-${portRange.high}`)
}

/** Every listener's port setting, each a free loopback port. */
export async function freeListenerPorts(): Promise<{
  AUTH_PORT: string
  INTERACTION_PORT: string
  INTROSPECTION_PORT: string
  ADMIN_PORT: string
  SERVICE_API_PORT: string
}> {
  const [auth, interaction, introspection, admin, service] = await Promise.all(
    Array.from({ length: 5 }, () => freePort())
  )
  return {
    AUTH_PORT: String(auth),
    INTERACTION_PORT: String(interaction),
    INTROSPECTION_PORT: String(introspection),
    ADMIN_PORT: String(admin),
    SERVICE_API_PORT: String(service)
  }
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresBase })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** A throwaway PostgreSQL database URL, or undefined when tests run on the embedded database. */
export async function createTestDatabase(): Promise<
  { url: string; drop(): Promise<void> } | undefined
> {
  if (!postgresBase) return undefined
  const name = `opas_test_${randomBytes(6).toString('hex')}`
  await withAdmin((c) => c.query(`create database ${name}`))
  const url = new URL(postgresBase)
  url.pathname = `/${name}`
  return {
    url: url.href,
    drop: () =>
      withAdmin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {})
  }
}

export interface TestServer extends RunningServer {
  authUrl: string
  interactionUrl: string
  introspectionUrl: string
  adminUrl: string
  serviceUrl: string
  tenantId: string
  idpSecret: string
  /** The grant endpoint of the operator tenant, as a wallet address advertises it. */
  grantUrl: string
  env: Record<string, string>
}

export const TEST_IDP_URL = 'http://127.0.0.1:9/consent'

/** Starts opas on free loopback ports with test settings; `env` overrides any of them. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: {
    logStream?: { write(line: string): void }
    resolve?: Resolver
    /** The server's clock, for a test that moves time on rather than sleeping. */
    now?: () => number
  } = {}
): Promise<TestServer> {
  const ports = await freeListenerPorts()
  // A server given its database (a second process on another's) needs no throwaway one.
  const database = env.AUTH_DATABASE_URL ? undefined : await createTestDatabase()
  const fullEnv: Record<string, string> = {
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    LISTEN_HOST: '127.0.0.1',
    ...ports,
    AUTH_SERVER_URL: `http://127.0.0.1:${ports.AUTH_PORT}`,
    INTROSPECTION_URL: `http://127.0.0.1:${ports.INTROSPECTION_PORT}`,
    DATA_DIR: 'memory://',
    ...(database ? { AUTH_DATABASE_URL: database.url } : {}),
    OPERATOR_TENANT_ID: randomUUID(),
    IDENTITY_SERVER_URL: TEST_IDP_URL,
    IDENTITY_SERVER_SECRET: 'test-idp-secret-long-enough-for-production',
    ADMIN_API_SECRET: 'test-admin-secret-long-enough-for-production',
    COOKIE_KEY: 'test-cookie-key-that-is-long-enough-to-sign',
    TENANT_SECRETS_KEY: 'test-tenant-secrets-key-long-enough-for-production',
    WAIT_SECONDS: '0',
    // Tests send bursts far above any sane production budget from one address and one client;
    // the rate-limit tests switch the limits back on.
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_PER_CLIENT: '0',
    ...env
  }
  const logger = createLogger(fullEnv.LOG_LEVEL!, { destination: options.logStream })
  let server: RunningServer
  for (let attempt = 1; ; attempt++) {
    try {
      server = await startServer(
        loadConfig(fullEnv, () => undefined),
        { logger, announce: () => {}, resolve: options.resolve, now: options.now }
      )
      break
    } catch (err) {
      // A port chosen free may be taken by another test file's server before this one binds
      // it (startServer has closed what it opened): new ports, unless the test chose them.
      const ours = Object.keys(ports).every((name) => env[name] === undefined)
      if (!(err instanceof ListenAddressError) || !ours || attempt === 5) {
        await database?.drop()
        throw err
      }
      Object.assign(fullEnv, await freeListenerPorts())
      fullEnv.AUTH_SERVER_URL = env.AUTH_SERVER_URL ?? `http://127.0.0.1:${fullEnv.AUTH_PORT}`
      fullEnv.INTROSPECTION_URL =
        env.INTROSPECTION_URL ?? `http://127.0.0.1:${fullEnv.INTROSPECTION_PORT}`
    }
  }
  const config = server.services.config
  return {
    ...server,
    async close() {
      await server.close()
      await database?.drop()
    },
    authUrl: server.urls.auth,
    interactionUrl: server.urls.interaction,
    introspectionUrl: server.urls.introspection,
    adminUrl: server.urls.admin,
    serviceUrl: server.urls.service,
    tenantId: config.operatorTenantId,
    idpSecret: config.identityServerSecret,
    grantUrl: `${config.authServerUrl}/${config.operatorTenantId}`,
    env: fullEnv
  }
}

/**
 * A second opas process on `first`'s PostgreSQL database, for the same operator tenant (as two
 * replicas behind one load balancer, given `first`'s AUTH_SERVER_URL in `env`).
 */
export function startPeerServer(
  first: TestServer,
  env: Record<string, string> = {}
): Promise<TestServer> {
  return startTestServer({
    AUTH_DATABASE_URL: first.env.AUTH_DATABASE_URL!,
    OPERATOR_TENANT_ID: first.tenantId,
    ...env
  })
}
