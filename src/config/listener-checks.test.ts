import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from './index.js'
import { serviceApiWarnings } from './listener-checks.js'
import { productionEnv } from '../../test/helpers/production-env.js'

const noFiles = () => undefined

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, noFiles)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.problems
  }
  assert.fail('expected a ConfigError')
}

const config = (env: Record<string, string>) => loadConfig(env, noFiles).config

const secretRequired = (host: string) =>
  'SERVICE_API_SECRET is required when NODE_ENV=production and the service API listens beyond ' +
  `loopback (SERVICE_API_LISTEN_HOST=${host}): anyone who reaches SERVICE_API_PORT could ` +
  'create, change and delete tenants. Set SERVICE_API_SECRET, bind ' +
  'SERVICE_API_LISTEN_HOST=127.0.0.1, or set SERVICE_API_AUTH=none on a private network only ' +
  "Rafiki's backend reaches"

const hosts = (c: ReturnType<typeof config>) => [
  c.authListenHost,
  c.interactionListenHost,
  c.introspectionListenHost,
  c.adminListenHost,
  c.serviceApiListenHost
]

test('every listener binds LISTEN_HOST unless its own *_LISTEN_HOST is set', () => {
  assert.deepEqual(hosts(config({})), Array(5).fill('0.0.0.0'))
  assert.deepEqual(hosts(config({ LISTEN_HOST: '127.0.0.1' })), Array(5).fill('127.0.0.1'))
  const split = config({
    LISTEN_HOST: '10.0.0.5',
    AUTH_LISTEN_HOST: '0.0.0.0',
    INTERACTION_LISTEN_HOST: '10.0.0.6',
    INTROSPECTION_LISTEN_HOST: 'introspection.internal',
    SERVICE_API_LISTEN_HOST: '::1'
  })
  assert.deepEqual(hosts(split), [
    '0.0.0.0',
    '10.0.0.6',
    'introspection.internal',
    '10.0.0.5',
    '::1'
  ])
  assert.equal(config({}).serviceApiAuth, 'secret')
})

test('a bind address that is not an IP address or host name is named, with what was given', () => {
  assert.deepEqual(
    problemsOf({
      LISTEN_HOST: 'http://0.0.0.0',
      ADMIN_LISTEN_HOST: '[::1]',
      AUTH_LISTEN_HOST: ' '
    }),
    [
      'LISTEN_HOST: must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1, ::) or a host name ' +
        '(got "http://0.0.0.0")',
      'AUTH_LISTEN_HOST: must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1, ::) or a host ' +
        'name (got " ")',
      'ADMIN_LISTEN_HOST: must be an IPv6 address without brackets (::1) (got "[::1]")'
    ]
  )
  assert.deepEqual(problemsOf({ SERVICE_API_AUTH: 'off' }), [
    'SERVICE_API_AUTH: must be one of secret, none (got "off")'
  ])
})

test('production refuses a service API beyond loopback without SERVICE_API_SECRET', () => {
  const beyondLoopback: Record<string, string>[] = [
    {},
    { LISTEN_HOST: '::' },
    { LISTEN_HOST: '127.0.0.1', SERVICE_API_LISTEN_HOST: '10.0.0.5' },
    { SERVICE_API_LISTEN_HOST: 'auth.internal' },
    { SERVICE_API_LISTEN_HOST: '127.1' },
    { LISTEN_HOST: '127.0.0.1', SERVICE_API_LISTEN_HOST: '0.0.0.0', SERVICE_API_AUTH: 'secret' }
  ]
  for (const env of beyondLoopback) {
    const host = config({ ...env, NODE_ENV: 'development' }).serviceApiListenHost
    assert.deepEqual(problemsOf({ ...productionEnv, ...env }), [secretRequired(host)], host)
  }
})

test('production takes a service API with SERVICE_API_SECRET, on loopback, or with SERVICE_API_AUTH=none', () => {
  for (const env of [
    { SERVICE_API_SECRET: 's'.repeat(32) },
    { LISTEN_HOST: '127.0.0.1' },
    { SERVICE_API_LISTEN_HOST: '127.0.0.1' },
    { SERVICE_API_LISTEN_HOST: '::1' },
    { SERVICE_API_LISTEN_HOST: 'localhost' },
    { SERVICE_API_AUTH: 'none' },
    { SERVICE_API_AUTH: 'none', SERVICE_API_LISTEN_HOST: '10.0.0.5' }
  ]) {
    assert.doesNotThrow(
      () => loadConfig({ ...productionEnv, ...env }, noFiles),
      JSON.stringify(env)
    )
  }
})

test('SERVICE_API_AUTH=none with SERVICE_API_SECRET is a contradiction, in any mode', () => {
  const contradiction =
    'SERVICE_API_AUTH=none and SERVICE_API_SECRET are both set: with none, the service API ' +
    'takes calls without the secret. Unset SERVICE_API_SECRET, or SERVICE_API_AUTH'
  const both = { SERVICE_API_AUTH: 'none', SERVICE_API_SECRET: 's'.repeat(32) }
  assert.deepEqual(problemsOf(both), [contradiction])
  assert.deepEqual(problemsOf({ ...productionEnv, ...both }), [contradiction])
})

test('the service API rules are reported with every other problem, and judge no stand-in', () => {
  assert.deepEqual(problemsOf({ ...productionEnv, COOKIE_KEY: 'short', WAIT_SECONDS: 'soon' }), [
    'WAIT_SECONDS: must be a decimal integer (≥ 0) (got "soon")',
    'COOKIE_KEY must be at least 32 characters when NODE_ENV=production',
    secretRequired('0.0.0.0')
  ])
  // A bind address or mode that did not parse is reported alone: its default does not stand
  // in to be judged as 0.0.0.0.
  assert.deepEqual(problemsOf({ ...productionEnv, SERVICE_API_LISTEN_HOST: '127.0.0.1:3011' }), [
    'SERVICE_API_LISTEN_HOST: must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1, ::) or a ' +
      'host name (got "127.0.0.1:3011")'
  ])
  assert.deepEqual(problemsOf({ ...productionEnv, LISTEN_HOST: 'x y' }).length, 1)
  assert.deepEqual(problemsOf({ ...productionEnv, SERVICE_API_AUTH: 'None' }).length, 1)
})

test('listeners share a port only when each binds its own IP address', () => {
  assert.deepEqual(problemsOf({ ADMIN_PORT: '3006' }), [
    'AUTH_PORT and ADMIN_PORT are both 3006: every listener needs its own port'
  ])
  const distinct = { AUTH_LISTEN_HOST: '10.0.0.5', ADMIN_LISTEN_HOST: '127.0.0.1' }
  assert.equal(config({ ...distinct, ADMIN_PORT: '3006' }).adminPort, 3006)
  assert.deepEqual(
    problemsOf({ LISTEN_HOST: '127.0.0.1', AUTH_LISTEN_HOST: '0.0.0.0', SERVICE_API_PORT: '3006' }),
    [
      'AUTH_PORT and SERVICE_API_PORT are both 3006 on addresses that overlap ' +
        '(AUTH_LISTEN_HOST=0.0.0.0, SERVICE_API_LISTEN_HOST=127.0.0.1): two listeners share a ' +
        'port only on two distinct IP addresses, neither of them 0.0.0.0, :: or a host name'
    ]
  )
  assert.equal(
    problemsOf({
      AUTH_LISTEN_HOST: '::1',
      ADMIN_LISTEN_HOST: '0:0:0:0:0:0:0:1',
      ADMIN_PORT: '3006'
    }).length,
    1
  )
})

test('start warns of a service API beyond loopback without a secret, in plain words', () => {
  assert.deepEqual(serviceApiWarnings(config({}), 3011), [
    'the service API (port 3011) listens on 0.0.0.0 without SERVICE_API_SECRET: anyone who ' +
      "reaches this port can create, change and delete tenants, the operator's included. Set " +
      'SERVICE_API_SECRET, or SERVICE_API_LISTEN_HOST=127.0.0.1'
  ])
  assert.match(
    serviceApiWarnings(config({ LISTEN_HOST: '::' }), 40_000)[0]!,
    /port 40000\) listens on ::/
  )
  const quiet: Record<string, string>[] = [
    { SERVICE_API_SECRET: 'x' },
    { LISTEN_HOST: '127.0.0.1' },
    { SERVICE_API_LISTEN_HOST: 'localhost' },
    { ...productionEnv, SERVICE_API_LISTEN_HOST: '127.0.0.1' },
    { ...productionEnv, SERVICE_API_SECRET: 's'.repeat(32) }
  ]
  for (const env of quiet) {
    assert.deepEqual(serviceApiWarnings(config(env), 3011), [], JSON.stringify(env))
  }
})

test('start warns of SERVICE_API_AUTH=none every time, wherever the service API listens', () => {
  assert.deepEqual(
    serviceApiWarnings(config({ ...productionEnv, SERVICE_API_AUTH: 'none' }), 3011),
    [
      'the service API accepts unauthenticated calls (SERVICE_API_AUTH=none): anyone who reaches ' +
        "port 3011 on 0.0.0.0 can create, change and delete tenants, the operator's included. " +
        "Keep it on a private network that only Rafiki's backend reaches"
    ]
  )
  assert.deepEqual(
    serviceApiWarnings(
      config({ SERVICE_API_AUTH: 'none', SERVICE_API_LISTEN_HOST: '127.0.0.1' }),
      3011
    ),
    [
      'the service API accepts unauthenticated calls (SERVICE_API_AUTH=none): any process on ' +
        "this host that reaches port 3011 can create, change and delete tenants, the operator's " +
        "included. Keep it on a private network that only Rafiki's backend reaches"
    ]
  )
})
