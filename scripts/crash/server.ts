import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../bench/opas-process.js'

const CLI = fileURLToPath(new URL('../../dist/cli/opas.js', import.meta.url))

export const TENANT_ID = '3c9f6a2e-7d41-4b8e-a5c0-5e2d9b1f7a64'
export const IDP_SECRET = 'opas-crash-idp-secret'

// Fixed settings, so nothing is generated at first start and every incarnation agrees with the
// previous one (a regenerated COOKIE_KEY or IdP secret would break flows for reasons unrelated to
// crash safety). The IdP is never called: 127.0.0.1:9 is the discard port.
const FIXED_ENV = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  LISTEN_HOST: '127.0.0.1',
  // Continuations are sent as soon as the interaction finishes.
  WAIT_SECONDS: '0',
  OPERATOR_TENANT_ID: TENANT_ID,
  IDENTITY_SERVER_URL: 'http://127.0.0.1:9/consent',
  IDENTITY_SERVER_SECRET: IDP_SECRET,
  ADMIN_API_SECRET: 'opas-crash-admin-secret',
  COOKIE_KEY: 'opas-crash-cookie-key-of-at-least-32-characters',
  // All load comes from one address and a few clients: limits would only add 429s.
  RATE_LIMIT_PER_IP: '0',
  RATE_LIMIT_PER_CLIENT: '0',
  // A token that expired during the run would introspect inactive for a reason that is not a
  // crash; and the retention job must not delete rows the verification counts.
  ACCESS_TOKEN_EXPIRY_SECONDS: '86400',
  DATABASE_CLEANUP_WORKERS: '0'
}

/** What opas logs when its embedded database was killed under it (src/storage/embedded/embedded-db.ts). */
const DATABASE_KILLED = 'the embedded database stopped unexpectedly'

export interface ServerUrls {
  auth: string
  grant: string
  introspection: string
  interaction: string
  /** The admin listener: its /metrics says when every webhook is delivered. */
  admin: string
}

/** Child-process output kept for a failure report, and the error lines counted. */
class OutputTail {
  text = ''
  errorLines = 0
  lastError: string | undefined
  private partial = ''

  collect(chunk: Buffer): void {
    const text = chunk.toString()
    this.text = (this.text + text).slice(-4000)
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop() ?? ''
    for (const line of lines) {
      const level = /"level":(\d+)/.exec(line)
      // A killed embedded database is reported at error level by design: that is the test.
      if (level && Number(level[1]) >= 50 && !line.includes(DATABASE_KILLED)) {
        this.errorLines++
        this.lastError = line.slice(0, 500)
      }
    }
  }
}

/**
 * `node dist/cli/opas.js start`, restartable on the same ports and database: the ports must not
 * change, because AUTH_SERVER_URL is part of every URL opas hands out (manage, continue,
 * interaction) and of every signature over them. Only PATH and HOME of the caller's environment
 * are passed and the working directory is empty, so no stray setting or .env file interferes.
 */
export class OpasServer {
  /** 0 before the first start; the n-th start is incarnation n. */
  incarnation = 0
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private readonly output = new OutputTail()
  private readonly cwd = mkdtempSync(join(tmpdir(), 'opas-crash-cwd-'))
  private readonly killOnExit = () => this.child?.kill('SIGKILL')

  private constructor(
    private readonly env: Record<string, string>,
    readonly urls: ServerUrls
  ) {
    // The test must not leave a server running if it dies itself.
    process.on('exit', this.killOnExit)
  }

  static async create(
    dbEnv: Record<string, string>,
    extraEnv: Record<string, string> = {}
  ): Promise<OpasServer> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
    const [auth, introspection, interaction, admin, service] = await Promise.all(
      Array.from({ length: 5 }, freePort)
    )
    const authUrl = `http://127.0.0.1:${auth}`
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
    return new OpasServer(env, {
      auth: authUrl,
      grant: `${authUrl}/${TENANT_ID}`,
      introspection: `http://127.0.0.1:${introspection}`,
      interaction: `http://127.0.0.1:${interaction}`,
      admin: `http://127.0.0.1:${admin}`
    })
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Error-level lines opas logged over all incarnations, and the last one. */
  errors(): { count: number; last: string | undefined } {
    return { count: this.output.errorLines, last: this.output.lastError }
  }

  tail(): string {
    return this.output.text
  }

  private alive(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    )
  }

  /** Starts the next incarnation and resolves once every listener answers GET /healthz. */
  async start(): Promise<void> {
    if (this.alive()) throw new Error('opas is already running')
    // Its own process group: a Ctrl-C in the terminal reaches the test, which stops opas itself
    // once the load is halted, instead of opas shutting down under the load.
    const child = spawn(process.execPath, [CLI, 'start'], {
      cwd: this.cwd,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    this.child = child
    this.incarnation++
    child.stdout!.on('data', (c: Buffer) => this.output.collect(c))
    child.stderr!.on('data', (c: Buffer) => this.output.collect(c))
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    await this.waitHealthy()
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + 60_000
    for (const base of [this.urls.auth, this.urls.introspection, this.urls.interaction]) {
      while (!(await healthy(base))) {
        if (!this.alive()) throw new Error(`opas exited during start:\n${this.output.text}`)
        if (Date.now() > deadline) throw new Error(`opas not healthy in 60 s:\n${this.output.text}`)
        await sleep(20)
      }
    }
  }

  /** True when opas answers GET /readyz: its database answers, with every migration. */
  ready(): Promise<boolean> {
    return healthy(this.urls.auth, 'readyz')
  }

  /** SIGKILL: no shutdown hook runs, in-flight requests and transactions are cut where they are. */
  async kill(): Promise<void> {
    if (!this.alive()) return
    this.child!.kill('SIGKILL')
    await this.exited
  }

  /** SIGTERM (graceful), SIGKILL after 15 s; then forgets the working directory. */
  async stop(): Promise<void> {
    if (this.alive()) {
      this.child!.kill('SIGTERM')
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), 15_000)
      await this.exited
      clearTimeout(timer)
    }
    process.off('exit', this.killOnExit)
    rmSync(this.cwd, { recursive: true, force: true })
  }
}

async function healthy(base: string, probe = 'healthz'): Promise<boolean> {
  try {
    const res = await fetch(`${base}/${probe}`, { signal: AbortSignal.timeout(2000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}
