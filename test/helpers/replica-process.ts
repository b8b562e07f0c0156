import assert from 'node:assert/strict'
import type { TestResponse } from './signed-request.js'
import { runOpas, type OpasProcess } from './opas-process.js'
import { freeListenerPorts } from './test-server.js'

/**
 * An `opas start` process as one replica of several behind a load balancer: on a shared
 * PostgreSQL database (or a pooler in front of it), with the settings replicas share (the public
 * URL signatures are checked against, the operator tenant, the IdP and admin secrets, the cookie
 * key), each on free loopback ports of its own.
 */
export interface Replica extends OpasProcess {
  name: string
  auth: string
  interaction: string
  introspection: string
  admin: string
}

/** What every replica of one test shares. */
export interface ReplicaSettings {
  databaseUrl: string
  publicUrl: string
  tenant: string
  idpSecret: string
  /** Any other setting, for every replica (`DATABASE_PREPARED_STATEMENTS`, say). */
  env?: Record<string, string>
}

export async function startReplica(name: string, settings: ReplicaSettings): Promise<Replica> {
  const ports = await freeListenerPorts()
  const opas = runOpas(['start'], {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    LISTEN_HOST: '127.0.0.1',
    ...ports,
    AUTH_DATABASE_URL: settings.databaseUrl,
    AUTH_SERVER_URL: settings.publicUrl,
    OPERATOR_TENANT_ID: settings.tenant,
    IDENTITY_SERVER_URL: 'http://127.0.0.1:9/consent',
    IDENTITY_SERVER_SECRET: settings.idpSecret,
    ADMIN_API_SECRET: 'replicas-admin-secret-long-enough',
    COOKIE_KEY: 'replicas-cookie-key-long-enough-to-sign',
    WAIT_SECONDS: '0',
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_PER_CLIENT: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...settings.env
  })
  const origin = (port: string) => `http://127.0.0.1:${port}`
  return {
    ...opas,
    name,
    auth: origin(ports.AUTH_PORT),
    interaction: origin(ports.INTERACTION_PORT),
    introspection: origin(ports.INTROSPECTION_PORT),
    admin: origin(ports.ADMIN_PORT)
  }
}

/** Waits until every public listener of `replica` is ready, failing with its output if not. */
export async function untilReady(replica: Replica): Promise<void> {
  const deadline = Date.now() + 90_000
  for (const listener of [replica.auth, replica.interaction, replica.introspection]) {
    for (;;) {
      const said = `opas ${replica.name}:\n${replica.output()}`
      assert.equal(replica.child.exitCode, null, `exited: ${said}`)
      assert.ok(Date.now() < deadline, `not ready: ${said}`)
      const ready = await fetch(`${listener}/readyz`).then(
        (res) => res.status === 200,
        () => false
      )
      if (ready) break
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** Stops it with SIGTERM (SIGKILL if it hangs), once its output has ended. */
export async function stopReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return
  replica.child.kill('SIGTERM')
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), 15_000)
  await replica.exited
  clearTimeout(timer)
}

/** A URL opas gave on the public URL (a grant's continue or manage URL), sent to one replica. */
export function via(url: string, replica: Replica, publicUrl: string): string {
  const u = new URL(url)
  assert.equal(u.origin, publicUrl, `${url} is not on the public URL`)
  return `${replica.auth}${u.pathname}${u.search}`
}

/** An answer in one line: its status, and its GNAP error's code and description. */
export function outcome(res: TestResponse): string {
  const error = (res.body as { error?: { code: string; description: string } } | undefined)?.error
  return error ? `${res.status} ${error.code}: ${error.description}` : String(res.status)
}
