import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ClientKeyError } from './client-key-error.js'
import type { ClientKeyErrorReason } from './client-key-error.js'
import { createClientKeys } from './client-keys.js'

/** A plain JSON server (path → [status, body]) counting hits, plus ClientKeys on a fake clock. */
async function setup(t: TestContext, routes: Record<string, [number, unknown]>) {
  const hits = new Map<string, number>()
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const [status, body] = routes[path] ?? [404, { error: 'not_found' }]
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(typeof body === 'string' ? body : JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const clock = { t: 0 }
  const warns: object[] = []
  const debugs: object[] = []
  const keys = createClientKeys({
    allowHttp: true,
    allowPrivate: true,
    timeoutMs: 2000,
    maxBodyBytes: 4096,
    cacheTtlMs: 60_000,
    now: () => clock.t,
    logger: {
      warn: (obj, msg) => warns.push({ ...obj, msg }),
      debug: (obj, msg) => debugs.push({ ...obj, msg })
    }
  })
  t.after(async () => {
    await keys.close()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url, keys, clock, warns, debugs, hits: (path: string) => hits.get(path) ?? 0 }
}

async function rejectsWith(p: Promise<unknown>, reason: ClientKeyErrorReason) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ClientKeyError, String(err))
    assert.equal(err.reason, reason, err.message)
    return true
  })
}

function publicJwk(kid: string) {
  const x = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x
  return { kid, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x }
}

test('500 is bad_status; it is logged once and remembered for failureTtlMs', async (t) => {
  const s = await setup(t, { '/down/jwks.json': [500, { error: 'boom' }] })
  await rejectsWith(s.keys.getKey(`${s.url}/down`, 'k'), 'bad_status')
  assert.deepEqual(s.warns, [
    { url: `${s.url}/down/jwks.json`, reason: 'bad_status', msg: 'client key fetch failed' }
  ])
  s.clock.t += 4_999
  await Promise.all([
    rejectsWith(s.keys.getKey(`${s.url}/down`, 'k'), 'bad_status'),
    rejectsWith(s.keys.getKey(`${s.url}/down`, 'other'), 'bad_status')
  ])
  assert.equal(s.hits('/down/jwks.json'), 1)
  assert.equal(s.warns.length, 1)
  s.clock.t += 1 // the default failureTtlMs (5000) has passed
  await rejectsWith(s.keys.getKey(`${s.url}/down`, 'k'), 'bad_status')
  assert.equal(s.hits('/down/jwks.json'), 2)
  assert.equal(s.warns.length, 2)
})

test('concurrent callers of a failing URL share one fetch and one warn line', async (t) => {
  const s = await setup(t, { '/x/jwks.json': [503, {}] })
  await Promise.all(
    Array.from({ length: 20 }, () => rejectsWith(s.keys.getKey(`${s.url}/x`, 'k'), 'bad_status'))
  )
  assert.equal(s.hits('/x/jwks.json'), 1)
  assert.equal(s.warns.length, 1)
})

test('a JWKS that is not {keys:[...]} is invalid_document', async (t) => {
  const s = await setup(t, {
    '/a/jwks.json': [200, { foo: 1 }],
    '/b/jwks.json': [200, [publicJwk('k')]],
    '/c/jwks.json': [200, '{"keys":'],
    '/d/jwks.json': [200, { keys: 'nope' }]
  })
  for (const name of ['a', 'b', 'c', 'd']) {
    await rejectsWith(s.keys.getKey(`${s.url}/${name}`, 'k'), 'invalid_document')
  }
  assert.equal(s.warns.length, 4)
})

test('invalid keys in a JWKS are skipped (logged at debug), valid ones are kept', async (t) => {
  const s = await setup(t, {
    '/m/jwks.json': [200, { keys: [{ ...publicJwk('bad'), crv: 'P-256' }, publicJwk('good')] }]
  })
  assert.ok(await s.keys.getKey(`${s.url}/m`, 'good'))
  assert.deepEqual(s.debugs, [
    {
      url: `${s.url}/m/jwks.json`,
      kid: 'bad',
      problem: 'crv is not Ed25519',
      msg: 'skipping invalid client key'
    }
  ])
  await rejectsWith(s.keys.getKey(`${s.url}/m`, 'bad'), 'unknown_key')
  assert.equal(s.warns.length, 0)
})

test('a body over maxBodyBytes is too_large', async (t) => {
  const big = { keys: Array.from({ length: 100 }, (_, i) => publicJwk(`k${i}`)) }
  const s = await setup(t, { '/big/jwks.json': [200, big] })
  await rejectsWith(s.keys.getKey(`${s.url}/big`, 'k0'), 'too_large')
})

test('getWalletAddress returns the document, cached, and validates it', async (t) => {
  const doc = {
    id: 'https://wallet.example/alice',
    publicName: 'Alice',
    assetCode: 'USD',
    assetScale: 2,
    authServer: 'https://auth.wallet.example',
    resourceServer: 'https://wallet.example/op',
    extra: 'ignored'
  }
  const noAsset: Partial<typeof doc> = { ...doc }
  delete noAsset.assetCode
  const s = await setup(t, {
    '/alice': [200, doc],
    '/noname': [200, { ...doc, publicName: undefined }],
    '/noasset': [200, noAsset],
    '/scale': [200, { ...doc, assetScale: 2.5 }],
    '/auth': [200, { ...doc, authServer: 'not a url' }]
  })
  const expected: Partial<typeof doc> = { ...doc }
  delete expected.extra
  assert.deepEqual(await s.keys.getWalletAddress(`${s.url}/alice`), expected)
  await s.keys.getWalletAddress(`${s.url}/alice`)
  assert.equal(s.hits('/alice'), 1)
  const noName = await s.keys.getWalletAddress(`${s.url}/noname`)
  assert.equal('publicName' in noName, false)
  for (const path of ['/noasset', '/scale', '/auth']) {
    await rejectsWith(s.keys.getWalletAddress(`${s.url}${path}`), 'invalid_document')
  }
  await rejectsWith(s.keys.getWalletAddress(`${s.url}/missing`), 'bad_status')
  s.clock.t += 60_000
  await s.keys.getWalletAddress(`${s.url}/alice`)
  assert.equal(s.hits('/alice'), 2)
})
