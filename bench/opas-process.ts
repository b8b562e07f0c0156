import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/helpers/test-server.js'

// The test suite's helper (a free loopback port), also used by the crash test through here.
export { freePort }

const CLI = fileURLToPath(new URL('../dist/cli/opas.js', import.meta.url))

// Fixed settings, so opas generates nothing and prints no secrets; the values only have to be
// consistent within a run. The IdP is never called: 127.0.0.1:9 is the discard port.
export const BENCH_TENANT_ID = '6f0a3c1e-5b7d-4e2a-9c84-0b1d2e3f4a5b'
/** The operator tenant's API secret: the admin-list scenario signs with it. */
export const BENCH_ADMIN_SECRET = 'opas-bench-admin-secret'
const FIXED_ENV = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  LISTEN_HOST: '127.0.0.1',
  WAIT_SECONDS: '0',
  OPERATOR_TENANT_ID: BENCH_TENANT_ID,
  IDENTITY_SERVER_URL: 'http://127.0.0.1:9/consent',
  IDENTITY_SERVER_SECRET: 'opas-bench-idp-secret',
  ADMIN_API_SECRET: BENCH_ADMIN_SECRET,
  COOKIE_KEY: 'opas-bench-cookie-key-of-at-least-32-characters',
  // All load comes from one address, which the per-IP limit exists to stop. The per-client
  // limit stays on (its cost is measured) with a budget no run reaches.
  RATE_LIMIT_PER_IP: '0',
  RATE_LIMIT_PER_CLIENT: '100000000',
  // The introspection scenarios issue their token pool once, before the runs; a soak outlasts
  // the default lifetime of 10 minutes, after which every pooled token would read inactive.
  ACCESS_TOKEN_EXPIRY_SECONDS: '86400'
}

export interface OpasProcess {
  pid: number
  /** From spawning `opas start` to every listener answering /healthz. */
  startMs: number
  authUrl: string
  introspectionUrl: string
  adminUrl: string
  /** The operator tenant's grant endpoint, as wallet addresses advertise it. */
  grantUrl: string
  /** Log lines at warn level or above (pino level >= 40), and the last of them. */
  warnings(): { count: number; last: string | undefined }
  /** The tail of what opas wrote, for a failure report. */
  output(): string
  alive(): boolean
  /** How it ended, e.g. `exit code 1` or `signal SIGKILL`; undefined while it runs. */
  exitStatus(): string | undefined
  /** SIGTERM (graceful), then SIGKILL if it has not exited after 15 s. */
  stop(): Promise<void>
}

async function waitHealthy(urls: string[], child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 60_000
  for (const url of urls) {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `opas exited during start (${child.exitCode ?? child.signalCode}):\n${output()}`
        )
      }
      if (Date.now() > deadline)
        throw new Error(`opas did not become healthy in 60 s:\n${output()}`)
      const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        async (r) => {
          await r.body?.cancel()
          return r.ok
        },
        () => false
      )
      if (ok) break
      await sleep(100)
    }
  }
}

/**
 * `node dist/cli/opas.js start` on free loopback ports with the bench settings and `dbEnv`
 * (AUTH_DATABASE_URL or DATA_DIR). Only PATH and HOME of the caller's environment are passed,
 * so a stray DATABASE_URL or NODE_ENV cannot change what is measured; the working directory is
 * an empty temporary one, so no .env file is read.
 */
export async function startOpas(
  dbEnv: Record<string, string>,
  workers = 1,
  cpuProfDir?: string,
  /** Further settings (webhooks on). */
  extraEnv: Record<string, string> = {}
): Promise<OpasProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const [auth, introspection, interaction, admin, service] = await Promise.all(
    Array.from({ length: 5 }, freePort)
  )
  const authUrl = `http://127.0.0.1:${auth}`
  const cwd = mkdtempSync(join(tmpdir(), 'opas-bench-cwd-'))
  const env: Record<string, string> = {
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...FIXED_ENV,
    AUTH_PORT: String(auth),
    INTROSPECTION_PORT: String(introspection),
    INTERACTION_PORT: String(interaction),
    ADMIN_PORT: String(admin),
    SERVICE_API_PORT: String(service),
    AUTH_SERVER_URL: authUrl,
    ...extraEnv,
    ...dbEnv
  }
  // --cpu-prof writes a profile per process (workers included) when it exits cleanly,
  // which the SIGTERM in stop() lets it do.
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir]
  const args = [...profile, CLI, 'start', ...(workers > 1 ? ['--workers', String(workers)] : [])]
  const spawnedAt = performance.now()
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // A benchmark that dies must not leave its server running.
  const killOnExit = () => child.kill('SIGKILL')
  process.on('exit', killOnExit)

  let tail = ''
  let warningCount = 0
  let lastWarning: string | undefined
  let partial = ''
  const collect = (chunk: Buffer) => {
    const text = chunk.toString()
    tail = (tail + text).slice(-4000)
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const level = /"level":(\d+)/.exec(line)
      if (level && Number(level[1]) >= 40) {
        warningCount++
        lastWarning = line.slice(0, 500)
      }
    }
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const alive = () => child.exitCode === null && child.signalCode === null

  async function stop(): Promise<void> {
    if (alive()) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
    process.off('exit', killOnExit)
    rmSync(cwd, { recursive: true, force: true })
  }

  try {
    await waitHealthy(
      [authUrl, `http://127.0.0.1:${introspection}`, `http://127.0.0.1:${interaction}`],
      child,
      () => tail
    )
  } catch (err) {
    await stop()
    throw err
  }
  return {
    pid: child.pid!,
    startMs: performance.now() - spawnedAt,
    authUrl,
    introspectionUrl: `http://127.0.0.1:${introspection}`,
    adminUrl: `http://127.0.0.1:${admin}`,
    grantUrl: `${authUrl}/${BENCH_TENANT_ID}`,
    warnings: () => ({ count: warningCount, last: lastWarning }),
    output: () => tail,
    alive,
    exitStatus: () =>
      child.signalCode !== null
        ? `signal ${child.signalCode}`
        : child.exitCode !== null
          ? `exit code ${child.exitCode}`
          : undefined,
    stop
  }
}
