import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from './index.js'
import { productionEnv as productionSettings } from '../../test/helpers/production-env.js'

type ReadFile = (path: string) => string | undefined
const noFiles: ReadFile = () => undefined

/** A readFile stub serving the given files and recording which paths were asked for. */
function files(contents: Record<string, string>): ReadFile & { asked: string[] } {
  const asked: string[] = []
  const readFile = (path: string): string | undefined => {
    asked.push(path)
    return contents[path]
  }
  return Object.assign(readFile, { asked })
}

/** The problems of the ConfigError that loading `env` throws. */
function problemsOf(
  env: Record<string, string | undefined>,
  readFile: ReadFile = noFiles
): string[] {
  try {
    loadConfig(env, readFile)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    for (const problem of error.problems) assert.ok(error.message.includes(problem))
    return error.problems
  }
  assert.fail('expected a ConfigError')
}

const productionEnv = { ...productionSettings, SERVICE_API_SECRET: 's'.repeat(32) }

test('an empty environment gives the development defaults', () => {
  const { config, missing } = loadConfig({}, noFiles)
  assert.equal(config.nodeEnv, 'development')
  assert.equal(config.logLevel, 'info')
  assert.equal(config.listenHost, '0.0.0.0')
  assert.deepEqual(
    [config.authPort, config.introspectionPort, config.interactionPort, config.adminPort],
    [3006, 3007, 3009, 3003]
  )
  assert.equal(config.serviceApiPort, 3011)
  assert.equal(config.authServerUrl, 'http://localhost:3006')
  // No IdP: interactive grants use the built-in consent screen.
  assert.equal(config.identityServerUrl, undefined)
  assert.equal(config.consentScreen, 'builtin')
  assert.equal(config.databaseUrl, undefined)
  assert.equal(config.dataDir, './data')
  // Each connection of the embedded server is a process: fewer than on an external one.
  assert.equal(config.databasePoolSize, 5)
  assert.equal(
    loadConfig({ DATABASE_URL: 'postgresql://db.example/opas' }, () => undefined).config
      .databasePoolSize,
    10
  )
  assert.equal(config.redisUrl, undefined)
  assert.equal(config.listAllAccessInteraction, true)
  assert.equal(config.clientFetchAllowHttp, true)
  assert.equal(config.clientFetchAllowPrivate, true)
  assert.equal(config.envFile, '.env')
  assert.deepEqual(missing, [
    'operatorTenantId',
    'identityServerSecret',
    'adminApiSecret',
    'cookieKey',
    'tenantSecretsKey'
  ])
})

test('the default AUTH_SERVER_URL follows AUTH_PORT', () => {
  assert.equal(
    loadConfig({ AUTH_PORT: '4000' }, noFiles).config.authServerUrl,
    'http://localhost:4000'
  )
})

test('production reports every missing required setting in one ConfigError', () => {
  const problems = problemsOf({ NODE_ENV: 'production' })
  for (const name of [
    'AUTH_SERVER_URL',
    'IDENTITY_SERVER_URL',
    'OPERATOR_TENANT_ID',
    'IDENTITY_SERVER_SECRET',
    'ADMIN_API_SECRET',
    'COOKIE_KEY',
    'TENANT_SECRETS_KEY',
    // The service API listens on LISTEN_HOST's default, 0.0.0.0.
    'SERVICE_API_SECRET'
  ]) {
    assert.ok(
      problems.some((p) => p.startsWith(name)),
      `${name} not reported`
    )
  }
  // And the embedded database, which production refuses unless told otherwise.
  assert.ok(problems.some((p) => p.includes('ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION')))
  assert.equal(problems.length, 9)
})

test('a complete production environment loads, with client fetches locked down', () => {
  const { config, missing } = loadConfig(productionEnv, noFiles)
  assert.deepEqual(missing, [])
  assert.equal(config.clientFetchAllowHttp, false)
  assert.equal(config.clientFetchAllowPrivate, false)
  assert.equal(config.identityServerUrl, 'https://idp.example.com/consent')
  assert.equal(config.consentScreen, 'off')
})

test('production may go without an IdP only with CONSENT_SCREEN=builtin, chosen knowingly', () => {
  const withoutIdp: Record<string, string> = { ...productionEnv }
  delete withoutIdp.IDENTITY_SERVER_URL
  assert.deepEqual(problemsOf(withoutIdp), [
    'IDENTITY_SERVER_URL is required when NODE_ENV=production (or set CONSENT_SCREEN=builtin)'
  ])
  const { config } = loadConfig({ ...withoutIdp, CONSENT_SCREEN: 'builtin' }, noFiles)
  assert.equal(config.consentScreen, 'builtin')
  assert.equal(config.identityServerUrl, undefined)
  assert.deepEqual(problemsOf({ ...productionEnv, CONSENT_SCREEN: 'on' }), [
    'CONSENT_SCREEN: must be one of builtin, off (got "on")'
  ])
})

test('production requires every secret to be at least 32 characters; development does not', () => {
  for (const name of [
    'COOKIE_KEY',
    'IDENTITY_SERVER_SECRET',
    'ADMIN_API_SECRET',
    'TENANT_SECRETS_KEY',
    'SERVICE_API_SECRET'
  ]) {
    assert.deepEqual(problemsOf({ ...productionEnv, [name]: 'x'.repeat(31) }), [
      `${name} must be at least 32 characters when NODE_ENV=production`
    ])
    assert.equal(
      loadConfig({ ...productionEnv, NODE_ENV: 'development', [name]: 'x' }, noFiles).config
        .nodeEnv,
      'development'
    )
  }
  // One problem per secret, whatever else is wrong.
  const problems = problemsOf({ ...productionEnv, COOKIE_KEY: 'a', ADMIN_API_SECRET: 'b' })
  assert.equal(problems.length, 2)
})

test('production requires an https AUTH_SERVER_URL, except on the loopback host', () => {
  const url = 'http://auth.example.com'
  assert.deepEqual(problemsOf({ ...productionEnv, AUTH_SERVER_URL: url }), [
    'AUTH_SERVER_URL must be an https:// URL when NODE_ENV=production (http:// only on ' +
      `localhost, 127.0.0.1 or [::1]), got "${url}"`
  ])
  for (const loopback of ['http://localhost:3006', 'http://127.0.0.1:3006', 'http://[::1]:3006']) {
    assert.equal(
      loadConfig({ ...productionEnv, AUTH_SERVER_URL: loopback }, noFiles).config.authServerUrl,
      loopback
    )
  }
  assert.equal(loadConfig({ AUTH_SERVER_URL: url }, noFiles).config.authServerUrl, url)
})

test('production refuses the embedded database unless ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION', () => {
  const embedded: Record<string, string> = { ...productionEnv }
  delete embedded.AUTH_DATABASE_URL
  const [problem, ...rest] = problemsOf(embedded)
  assert.deepEqual(rest, [])
  assert.match(problem!, /AUTH_DATABASE_URL/)
  assert.match(problem!, /ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION=true/)
  const allowed = loadConfig(
    { ...embedded, ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION: 'true' },
    noFiles
  )
  assert.equal(allowed.config.databaseUrl, undefined)
})

test('an invalid OPERATOR_TENANT_ID is reported once, in production too', () => {
  assert.deepEqual(problemsOf({ ...productionEnv, OPERATOR_TENANT_ID: 'nope' }), [
    'OPERATOR_TENANT_ID: must be a UUID (8-4-4-4-12 hex digits) (got "nope")'
  ])
})

test('values come from the .env file and the real environment overrides them', () => {
  const readFile = files({ '.env': 'AUTH_PORT=4000\nLOG_LEVEL=debug\n# comment\nWAIT_SECONDS=7\n' })
  const { config } = loadConfig({ LOG_LEVEL: 'warn' }, readFile)
  assert.deepEqual(readFile.asked, ['.env'])
  assert.equal(config.authPort, 4000)
  assert.equal(config.logLevel, 'warn')
  assert.equal(config.waitSeconds, 7)
})

test('ENV_FILE chooses the file, and cannot be set from inside a file', () => {
  const readFile = files({
    'custom.env': 'AUTH_PORT=5000\nENV_FILE=other.env',
    '.env': 'AUTH_PORT=1'
  })
  const { config } = loadConfig({ ENV_FILE: 'custom.env' }, readFile)
  assert.deepEqual(readFile.asked, ['custom.env'])
  assert.equal(config.authPort, 5000)
  assert.equal(config.envFile, 'custom.env')
})

test('a missing file named by ENV_FILE is a problem; a missing default .env is not', () => {
  assert.deepEqual(problemsOf({ ENV_FILE: 'nope.env' }), [
    'ENV_FILE: file "nope.env" was not found'
  ])
  assert.doesNotThrow(() => loadConfig({}, noFiles))
})

test('an empty string counts as unset, in the environment and in the file', () => {
  const readFile = files({ '.env': 'ADMIN_PORT=\nWAIT_SECONDS=9' })
  const { config, missing } = loadConfig(
    { AUTH_PORT: '', WAIT_SECONDS: '', COOKIE_KEY: '', NODE_ENV: '', ENV_FILE: '' },
    readFile
  )
  assert.equal(config.authPort, 3006)
  assert.equal(config.adminPort, 3003)
  assert.equal(config.waitSeconds, 9)
  assert.equal(config.nodeEnv, 'development')
  assert.ok(missing.includes('cookieKey'))
})

test('AUTH_DATABASE_URL wins over DATABASE_URL, which is used alone', () => {
  const both = { AUTH_DATABASE_URL: 'postgresql://a/auth', DATABASE_URL: 'postgres://b/main' }
  assert.equal(loadConfig(both, noFiles).config.databaseUrl, 'postgresql://a/auth')
  const fallback = { DATABASE_URL: 'postgres://b/main' }
  assert.equal(loadConfig(fallback, noFiles).config.databaseUrl, 'postgres://b/main')
  assert.deepEqual(problemsOf({ DATABASE_URL: 'mysql://b/main' }), [
    'DATABASE_URL: must be a postgres or postgresql URL (got "mysql://b/main")'
  ])
})

test('AUTH_SERVER_URL loses its trailing slash and must be a plain http(s) base URL', () => {
  const load = (url: string): string =>
    loadConfig({ AUTH_SERVER_URL: url }, noFiles).config.authServerUrl
  assert.equal(load('https://auth.example.com/'), 'https://auth.example.com')
  assert.equal(load('https://auth.example.com/gnap/'), 'https://auth.example.com/gnap')
  assert.equal(load('http://localhost:3006'), 'http://localhost:3006')
  for (const bad of [
    'ftp://x.example',
    'auth.example.com',
    'https://x.example/?a=1',
    'https://x.example/#f'
  ]) {
    assert.equal(problemsOf({ AUTH_SERVER_URL: bad }).length, 1, bad)
  }
})

test('booleans accept true/false in any case and 1/0, nothing else', () => {
  const load = (value: string): boolean =>
    loadConfig({ TRUST_PROXY: value }, noFiles).config.trustProxy
  assert.deepEqual(['true', 'TRUE', 'True', '1'].map(load), [true, true, true, true])
  assert.deepEqual(['false', 'FALSE', '0'].map(load), [false, false, false])
  for (const bad of ['yes', 'no', 'on', '2', ' true']) {
    assert.deepEqual(problemsOf({ TRUST_PROXY: bad }), [
      `TRUST_PROXY: must be true, false, 1 or 0 (got ${JSON.stringify(bad)})`
    ])
  }
})

test('WEBHOOK_SIGNATURE_SECRET is generated only beside WEBHOOK_URL, and required with it in production', () => {
  assert.ok(!loadConfig({}, noFiles).missing.includes('webhookSignatureSecret'))
  const withUrl = loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:4000/webhooks' }, noFiles)
  assert.ok(withUrl.missing.includes('webhookSignatureSecret'))
  assert.deepEqual(loadConfig(productionEnv, noFiles).missing, [])
  assert.throws(
    () =>
      loadConfig({ ...productionEnv, WEBHOOK_URL: 'https://backend.example/webhooks' }, noFiles),
    (err: Error) =>
      /WEBHOOK_SIGNATURE_SECRET is required when NODE_ENV=production/.test(err.message)
  )
  const given = loadConfig(
    {
      ...productionEnv,
      WEBHOOK_URL: 'https://backend.example/webhooks',
      WEBHOOK_SIGNATURE_SECRET: 'a-webhook-secret-of-at-least-32-characters'
    },
    noFiles
  )
  assert.equal(given.config.webhookUrl, 'https://backend.example/webhooks')
  assert.throws(() => loadConfig({ WEBHOOK_URL: 'ftp://backend/hooks' }, noFiles), /WEBHOOK_URL/)
})
