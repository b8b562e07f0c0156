import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parse } from 'yaml'
import { configSchema, loadConfig } from '../../src/config/index.js'
import { variableNames } from '../../src/config/setting-spec.js'
import { freeListenerPorts, startTestServer } from '../helpers/test-server.js'

/**
 * The deployment files agree with opas and with each other: compose.yaml sets only settings
 * opas has, and enough of them for a production start; its ports and healthcheck are the
 * image's (Dockerfile), and the image's ports are opas's defaults. test/container builds and
 * runs the image itself.
 */

interface ComposeService {
  environment?: Record<string, string | number | boolean>
  ports?: string[]
  volumes?: string[]
  healthcheck?: { test: string[] }
  depends_on?: Record<string, { condition: string }>
  read_only?: boolean
}
const compose = parse(readFileSync('compose.yaml', 'utf8')) as {
  services: Record<string, ComposeService>
}
const opas = compose.services.opas!
const dockerfile = readFileSync('Dockerfile', 'utf8').replace(/\\\n\s*/g, ' ')

/** The arguments of the Dockerfile's last `instruction`, continuation lines joined. */
function instruction(name: string): string {
  const lines = dockerfile.split('\n').filter((line) => line.startsWith(`${name} `))
  assert.ok(lines.length > 0, `the Dockerfile has ${name}`)
  return lines
    .at(-1)!
    .slice(name.length + 1)
    .trim()
}

const portSettings = [
  configSchema.authPort,
  configSchema.introspectionPort,
  configSchema.adminPort,
  configSchema.interactionPort,
  configSchema.serviceApiPort
]
const defaultPorts = portSettings.map((spec) => String(spec.default)).sort()

test('every variable compose.yaml gives opas is a setting of its configuration', () => {
  const known = new Set(Object.values(configSchema).flatMap((spec) => variableNames(spec)))
  const unknown = Object.keys(opas.environment ?? {}).filter((name) => !known.has(name))
  assert.deepEqual(unknown, [], 'not opas settings')
})

/** compose's own interpolation: `${NAME:?why}` must be given, `${NAME:-default}` may be. */
function interpolate(value: string, given: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_, name: string, kind, rest) => {
    if (given[name] !== undefined) return given[name]
    assert.notEqual(kind, '?', `${name} is required, with its reason`)
    return kind === '-' ? rest : ''
  })
}

test("compose.yaml's environment, with the settings it asks for, passes production's checks", () => {
  const secret = (c: string) => c.repeat(32)
  const operator = {
    AUTH_SERVER_URL: 'https://auth.wallet.example',
    IDENTITY_SERVER_URL: 'https://wallet.example/consent',
    OPERATOR_TENANT_ID: '438fa74a-fa7d-4317-9ced-dde32ece1787',
    IDENTITY_SERVER_SECRET: secret('i'),
    ADMIN_API_SECRET: secret('a'),
    COOKIE_KEY: secret('c'),
    TENANT_SECRETS_KEY: secret('t'),
    SERVICE_API_SECRET: secret('s'),
    POSTGRES_PASSWORD: 'p'
  }
  const required = [...JSON.stringify(opas.environment).matchAll(/\$\{(\w+):\?/g)].map((m) => m[1])
  assert.deepEqual(
    [...new Set(required)].sort(),
    Object.keys(operator)
      .filter((k) => k !== 'SERVICE_API_SECRET')
      .sort()
  )
  const env = Object.fromEntries(
    Object.entries(opas.environment!).map(([k, v]) => [k, interpolate(String(v), operator)])
  )
  // What the image sets: every listener on every interface of the container.
  const image = { LISTEN_HOST: '0.0.0.0', DATA_DIR: '/var/lib/opas' }
  const { config } = loadConfig({ ...image, ...env }, () => undefined)
  assert.equal(config.nodeEnv, 'production')
  assert.equal(config.databaseUrl, 'postgresql://opas:p@postgres:5432/opas')
  // Without a service API secret, production refuses to start unless told it is private.
  const open = { ...image, ...env, SERVICE_API_SECRET: '' }
  assert.throws(() => loadConfig(open, () => undefined), /SERVICE_API_SECRET/)
  loadConfig({ ...open, SERVICE_API_AUTH: 'none' }, () => undefined)
})

test("the image exposes opas's five default ports, and compose.yaml publishes those", () => {
  assert.deepEqual(instruction('EXPOSE').split(/\s+/).sort(), defaultPorts)
  const published = (opas.ports ?? []).map((p) => p.split(':').at(-1)!).sort()
  assert.deepEqual(published, defaultPorts)
  // Only the auth listener faces the network; the others are this host's.
  for (const port of opas.ports!) {
    if (!port.endsWith(`:${configSchema.authPort.default}`)) assert.match(port, /^127\.0\.0\.1:/)
  }
})

test("compose.yaml's healthcheck is the image's, and the volume is the image's DATA_DIR", () => {
  const healthcheck = /^(?:--\S+\s+)*CMD\s+(\[.*\])$/.exec(instruction('HEALTHCHECK'))
  assert.ok(healthcheck, 'HEALTHCHECK … CMD ["…"]')
  assert.deepEqual(opas.healthcheck?.test, ['CMD', ...(JSON.parse(healthcheck[1]!) as string[])])
  assert.doesNotMatch(healthcheck[1]!, /curl|wget/)
  assert.match(dockerfile, /^ENV .*\bDATA_DIR=\/var\/lib\/opas\b/m)
  assert.equal(instruction('VOLUME'), '["/var/lib/opas"]')
  assert.ok(opas.volumes?.some((v) => v.endsWith(':/var/lib/opas')))
  // The container test runs the image on a read-only root, with the volume and /tmp.
  assert.equal(opas.read_only, true)
  assert.equal(opas.depends_on?.postgres?.condition, 'service_healthy')
  for (const [name, service] of Object.entries(compose.services)) {
    assert.ok(service.healthcheck, `${name} has a healthcheck`)
  }
})

test('the image leaves secrets out and runs as an unprivileged user', () => {
  for (const spec of Object.values(configSchema).filter((s) => s.secret)) {
    assert.doesNotMatch(dockerfile, new RegExp(`\\b${spec.env}\\b`), `${spec.env} in the image`)
  }
  assert.match(instruction('USER'), /^[1-9]\d*:[1-9]\d*$/)
  assert.match(instruction('ENTRYPOINT'), /^\["node", "dist\/cli\/opas\.js"\]$/)
  const ignored = readFileSync('.dockerignore', 'utf8')
  assert.match(ignored, /^\*$/m, 'the build context is what the Dockerfile names, nothing else')
})

/** The HEALTHCHECK command, run here as the image runs it, with `env` (the server answers meanwhile). */
function healthcheck(env: Record<string, string>): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const options = { env: { PATH: process.env.PATH, ...env } }
    execFile(process.execPath, ['scripts/container-healthcheck.mjs'], options, (err, _, stderr) =>
      resolve({ status: err ? Number(err.code) : 0, stderr })
    )
  })
}

test('the healthcheck exits 0 when the auth listener is ready, 1 saying why when it is not', async () => {
  const server = await startTestServer()
  try {
    const port = new URL(server.authUrl).port
    const ready = await healthcheck({ ...server.env, AUTH_LISTEN_HOST: '0.0.0.0', AUTH_PORT: port })
    assert.equal(ready.status, 0, ready.stderr)
  } finally {
    await server.close()
  }
  const { AUTH_PORT } = await freeListenerPorts()
  const down = await healthcheck({ AUTH_PORT })
  assert.equal(down.status, 1)
  assert.match(down.stderr, new RegExp(`unhealthy: http://127\\.0\\.0\\.1:${AUTH_PORT}/readyz`))
  const wrong = await healthcheck({ AUTH_PORT: 'x' })
  assert.equal(wrong.status, 1)
  assert.match(wrong.stderr, /unhealthy: the configuration does not load:[^]*AUTH_PORT/)
})
