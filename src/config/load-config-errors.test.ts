import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from './index.js'

type ReadFile = (path: string) => string | undefined
const noFiles: ReadFile = () => undefined

function problemsOf(
  env: Record<string, string | undefined>,
  readFile: ReadFile = noFiles
): string[] {
  try {
    loadConfig(env, readFile)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.problems
  }
  assert.fail('expected a ConfigError')
}

test('integers must be plain decimal digits within the range', () => {
  for (const bad of [
    'abc',
    '-1',
    '+1',
    '1.5',
    '1e3',
    '0x10',
    ' 1',
    '65536',
    '99999999999999999999'
  ]) {
    const problems = problemsOf({ AUTH_PORT: bad })
    assert.equal(problems.length, 1, bad)
    assert.match(problems[0] ?? '', /^AUTH_PORT: must be a.* integer .*0\.\.65535/)
  }
  assert.equal(loadConfig({ AUTH_PORT: '0' }, noFiles).config.authPort, 0)
  assert.equal(problemsOf({ INTERACTION_EXPIRY_SECONDS: '0' }).length, 1)
  assert.equal(problemsOf({ DATABASE_POOL_SIZE: '201' }).length, 1)
  assert.equal(loadConfig({ WAIT_SECONDS: '0' }, noFiles).config.waitSeconds, 0)
})

test('enumerated values must match exactly', () => {
  assert.deepEqual(problemsOf({ LOG_LEVEL: 'verbose' }), [
    'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")'
  ])
  assert.equal(problemsOf({ NODE_ENV: 'staging' }).length, 1)
  assert.equal(problemsOf({ INTERACTION_COOKIE_SAME_SITE: 'strict' }).length, 1)
  const { config } = loadConfig({ INTERACTION_COOKIE_SAME_SITE: 'none', NODE_ENV: 'test' }, noFiles)
  assert.equal(config.interactionCookieSameSite, 'none')
  assert.equal(config.nodeEnv, 'test')
})

test('URLs are checked for syntax and protocol', () => {
  assert.deepEqual(problemsOf({ IDENTITY_SERVER_URL: 'not a url' }), [
    'IDENTITY_SERVER_URL: must be an absolute URL (got "not a url")'
  ])
  assert.equal(problemsOf({ IDENTITY_SERVER_URL: 'javascript:alert(1)' }).length, 1)
  assert.equal(problemsOf({ REDIS_URL: 'http://redis:6379' }).length, 1)
  assert.equal(
    loadConfig({ REDIS_URL: 'rediss://r:6380' }, noFiles).config.redisUrl,
    'rediss://r:6380'
  )
})

test('OPERATOR_TENANT_ID must be a canonical UUID', () => {
  const id = 'A1B2C3D4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'
  assert.equal(loadConfig({ OPERATOR_TENANT_ID: id }, noFiles).config.operatorTenantId, id)
  for (const bad of ['not-a-uuid', 'a1b2c3d4e5f64a7b8c9d0e1f2a3b4c5d', `{${id}}`]) {
    assert.equal(problemsOf({ OPERATOR_TENANT_ID: bad }).length, 1, bad)
  }
})

test('given generatable settings are not reported missing', () => {
  const { missing } = loadConfig({ ADMIN_API_SECRET: 's', COOKIE_KEY: 'c' }, noFiles)
  assert.deepEqual(missing, ['operatorTenantId', 'identityServerSecret', 'tenantSecretsKey'])
})

test('every problem is reported at once, naming the file a bad value came from', () => {
  const readFile = (path: string): string | undefined =>
    path === '.env' ? 'WAIT_SECONDS=soon\n' : undefined
  const problems = problemsOf(
    { AUTH_PORT: 'x', TRUST_PROXY: 'maybe', LOG_LEVEL: 'loud', OPERATOR_TENANT_ID: '42' },
    readFile
  )
  assert.equal(problems.length, 5)
  assert.ok(
    problems.includes('WAIT_SECONDS (in .env): must be a decimal integer (≥ 0) (got "soon")')
  )
})

test('the value of a bad secret is never echoed', () => {
  const problems = problemsOf({ NODE_ENV: 'production', COOKIE_KEY: 'hunter2' })
  assert.ok(problems.every((p) => !p.includes('hunter2')))
})

test('two listeners on the same non-zero port are a problem; port 0 may repeat', () => {
  assert.deepEqual(problemsOf({ ADMIN_PORT: '3006' }), [
    'AUTH_PORT and ADMIN_PORT are both 3006: every listener needs its own port'
  ])
  const zeros = { AUTH_PORT: '0', INTROSPECTION_PORT: '0', INTERACTION_PORT: '0', ADMIN_PORT: '0' }
  assert.doesNotThrow(() => loadConfig(zeros, noFiles))
})

test('unknown variables are ignored', () => {
  assert.doesNotThrow(() => loadConfig({ SOMETHING_ELSE: 'x', PATH: '/bin' }, noFiles))
})

test('CLIENT_FETCH_ALLOWED_CIDRS takes comma-separated CIDR ranges and names a bad one', () => {
  assert.deepEqual(
    loadConfig({ CLIENT_FETCH_ALLOWED_CIDRS: '172.18.0.0/16, fd00::/8' }, noFiles).config
      .clientFetchAllowedCidrs,
    ['172.18.0.0/16', 'fd00::/8']
  )
  assert.deepEqual(loadConfig({}, noFiles).config.clientFetchAllowedCidrs, [])
  assert.deepEqual(problemsOf({ CLIENT_FETCH_ALLOWED_CIDRS: '10.0.0.0/8,10.0.0.1' }), [
    'CLIENT_FETCH_ALLOWED_CIDRS: has "10.0.0.1", which is not a CIDR range (got "10.0.0.0/8,10.0.0.1")'
  ])
})

test('INTROSPECTION_AUTH=signature needs its resource servers and the URL they sign', () => {
  const rs = 'backend=https://rs.wallet.example/jwks.json'
  assert.deepEqual(problemsOf({ INTROSPECTION_AUTH: 'signature' }), [
    'INTROSPECTION_AUTH=signature needs INTROSPECTION_RESOURCE_SERVERS: the resource servers ' +
      'allowed to introspect, as name=JWKS URL pairs',
    'INTROSPECTION_AUTH=signature needs INTROSPECTION_URL: the URL resource servers call and sign'
  ])
  assert.deepEqual(problemsOf({ INTROSPECTION_RESOURCE_SERVERS: rs }), [
    'INTROSPECTION_RESOURCE_SERVERS is set but INTROSPECTION_AUTH is none: set ' +
      'INTROSPECTION_AUTH=signature to require them'
  ])
  const { config } = loadConfig(
    {
      INTROSPECTION_AUTH: 'signature',
      INTROSPECTION_URL: 'https://introspect.wallet.example/',
      INTROSPECTION_RESOURCE_SERVERS: ` ${rs} , other=http://10.0.0.5:3000/keys `
    },
    noFiles
  )
  assert.equal(config.introspectionUrl, 'https://introspect.wallet.example')
  assert.deepEqual(config.introspectionResourceServers, [
    { name: 'backend', jwksUrl: 'https://rs.wallet.example/jwks.json' },
    { name: 'other', jwksUrl: 'http://10.0.0.5:3000/keys' }
  ])
  // Rafiki's default: unauthenticated, no list; the introspection URL from its port.
  const defaults = loadConfig({ INTROSPECTION_PORT: '4007' }, noFiles).config
  assert.equal(defaults.introspectionAuth, 'none')
  assert.deepEqual(defaults.introspectionResourceServers, [])
  assert.equal(defaults.introspectionUrl, 'http://localhost:4007')
})

test('INTROSPECTION_RESOURCE_SERVERS is name=URL pairs, each name once', () => {
  const bad: [string, RegExp][] = [
    ['backend', /each entry is name=URL/],
    ['=https://rs.example/jwks.json', /each entry is name=URL/],
    ['a b=https://rs.example/jwks.json', /each entry is name=URL/],
    ['backend=rs.example/jwks.json', /backend's URL, which must be an absolute URL/],
    ['backend=ftp://rs.example/jwks.json', /must be a http or https URL/],
    ['backend=https://rs.example/jwks.json?v=1', /query, fragment or credentials/],
    ['backend=https://user:pw@rs.example/jwks.json', /query, fragment or credentials/],
    ['a=https://rs.example/1,a=https://rs.example/2', /names a twice/],
    [' , ', /names no resource server/]
  ]
  for (const [raw, problem] of bad) {
    const problems = problemsOf({
      INTROSPECTION_AUTH: 'signature',
      INTROSPECTION_URL: 'https://introspect.wallet.example',
      INTROSPECTION_RESOURCE_SERVERS: raw
    })
    assert.equal(problems.length, 1, `${raw}: ${problems.join('; ')}`)
    assert.match(problems[0]!, /^INTROSPECTION_RESOURCE_SERVERS: /, raw)
    assert.match(problems[0]!, problem, raw)
  }
})
