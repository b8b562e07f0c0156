import { test } from 'node:test'
import assert from 'node:assert/strict'
import { configSchemaParts, settingEntries } from './config-schema.js'
import {
  configSchema,
  generatableSettings,
  loadConfig,
  redactConfig,
  renderConfigReference
} from './index.js'

const allVariables = Object.values(configSchema).flatMap((spec) => [
  spec.env,
  ...(spec.fallbackEnv ?? [])
])

test('the reference table names every variable, one row per setting', () => {
  const reference = renderConfigReference()
  for (const name of allVariables) assert.ok(reference.includes(`\`${name}\``), name)
  assert.ok(reference.includes('`DATABASE_URL`'))
  const rows = reference.trim().split('\n')
  assert.equal(rows.length, Object.keys(configSchema).length + 2)
  assert.ok(rows.every((row) => row.startsWith('| ') && row.endsWith(' |')))
})

test('the reference table shows defaults, origins and secrets', () => {
  const reference = renderConfigReference()
  const row = (name: string): string =>
    reference.split('\n').find((r) => r.startsWith(`| \`${name}\``)) ?? ''
  assert.match(row('AUTH_PORT'), /`3006`.*Rafiki-compatible/)
  assert.match(row('SIGNATURE_MAX_AGE_SECONDS'), /`300`.*New in opas/)
  assert.match(row('AUTH_SERVER_URL'), /http:\/\/localhost:\{AUTH_PORT\}.*required in production/)
  assert.match(row('COOKIE_KEY'), /generated.*Secret/)
  assert.match(row('REDIS_URL'), /does not require Redis/)
})

test('the schema parts do not overlap and every variable is declared once', () => {
  const partKeys = configSchemaParts.flatMap((part) => Object.keys(part))
  assert.equal(new Set(partKeys).size, partKeys.length)
  assert.equal(partKeys.length, Object.keys(configSchema).length)
  assert.equal(new Set(allVariables).size, allVariables.length)
})

test('exactly the six secrets are marked secret, and generatables exist in the schema', () => {
  const secrets = Object.entries(configSchema)
    .filter(([, spec]) => spec.secret === true)
    .map(([key]) => key)
  assert.deepEqual(secrets.sort(), [
    'adminApiSecret',
    'cookieKey',
    'identityServerSecret',
    'serviceApiSecret',
    'tenantSecretsKey',
    'webhookSignatureSecret'
  ])
  for (const key of generatableSettings) assert.ok(key in configSchema)
})

test('redactConfig hides secrets and URL passwords, and keeps everything else', () => {
  const { config } = loadConfig(
    {
      ADMIN_API_SECRET: 'admin-secret',
      IDENTITY_SERVER_SECRET: 'idp-secret',
      COOKIE_KEY: 'cookie-key',
      AUTH_DATABASE_URL: 'postgres://opas:dbpass@db:5432/auth',
      REDIS_URL: 'redis://:redispass@redis:6379'
    },
    () => undefined
  )
  const redacted = redactConfig(config)
  assert.equal(redacted.ADMIN_API_SECRET, '[redacted]')
  assert.equal(redacted.IDENTITY_SERVER_SECRET, '[redacted]')
  assert.equal(redacted.COOKIE_KEY, '[redacted]')
  assert.equal(redacted.AUTH_DATABASE_URL, 'postgres://opas:redacted@db:5432/auth')
  assert.equal(redacted.REDIS_URL, 'redis://:redacted@redis:6379')
  assert.equal(redacted.AUTH_PORT, 3006)
  assert.equal(redacted.OPERATOR_TENANT_ID, undefined)
  const text = JSON.stringify(redacted)
  for (const secret of ['admin-secret', 'idp-secret', 'cookie-key', 'dbpass', 'redispass']) {
    assert.ok(!text.includes(secret), secret)
  }
  // Every setting, each under the variable that sets it.
  assert.deepEqual(
    Object.keys(redacted).sort(),
    settingEntries()
      .map(([, spec]) => spec.env)
      .sort()
  )
  assert.equal(Object.keys(redacted).length, Object.keys(config).length)
})
