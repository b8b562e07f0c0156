import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sign, verify } from 'node:crypto'
import { startWalletAddressServer } from '../../test/helpers/wallet-address-server.js'
import { ClientKeyError } from './client-key-error.js'
import type { ClientKeyErrorReason } from './client-key-error.js'
import { createClientKeys } from './client-keys.js'
import type { ClientKeysOptions } from './client-keys.js'

/** ClientKeys against a local wallet address server, with a hand-driven clock and log capture. */
async function setup(t: TestContext, overrides: Partial<ClientKeysOptions> = {}) {
  const was = await startWalletAddressServer()
  const clock = { t: 1_000_000 }
  const warns: object[] = []
  const debugs: object[] = []
  const keys = createClientKeys({
    allowHttp: true,
    allowPrivate: true,
    timeoutMs: 2000,
    maxBodyBytes: 64 * 1024,
    cacheTtlMs: 60_000,
    failureTtlMs: 5_000,
    unknownKidRefetchIntervalMs: 10_000,
    now: () => clock.t,
    logger: {
      warn: (obj, msg) => warns.push({ ...obj, msg }),
      debug: (obj, msg) => debugs.push({ ...obj, msg })
    },
    ...overrides
  })
  t.after(async () => {
    await keys.close()
    await was.close()
  })
  return { was, keys, clock, warns, debugs }
}

async function rejectsWith(p: Promise<unknown>, reason: ClientKeyErrorReason) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ClientKeyError, String(err))
    assert.equal(err.reason, reason, err.message)
    return true
  })
}

test('finds each key of a client by kid, and the key verifies its signatures', async (t) => {
  const { was, keys } = await setup(t)
  const clients = [was.addClient('alice'), was.addKey('alice'), was.addKey('alice')]
  for (const c of clients) {
    const key = await keys.getKey(c.walletAddress, c.keyId)
    const data = Buffer.from(`signed by ${c.keyId}`)
    assert.equal(verify(null, data, key, sign(null, data, c.privateKey)), true)
    assert.equal(key.export({ format: 'jwk' }).x, c.publicJwk.x)
  }
  assert.equal(was.hits('/alice/jwks.json'), 1)
})

test('a trailing slash on the wallet address is stripped before /jwks.json', async (t) => {
  const { was, keys } = await setup(t)
  const c = was.addClient('bob')
  await keys.getKey(`${c.walletAddress}/`, c.keyId)
  await keys.getKey(c.walletAddress, c.keyId)
  assert.equal(was.hits('/bob/jwks.json'), 1)
})

test('unknown kid is unknown_key; unknown client is bad_status', async (t) => {
  const { was, keys } = await setup(t)
  const c = was.addClient('carol')
  await rejectsWith(keys.getKey(c.walletAddress, 'nope'), 'unknown_key')
  await rejectsWith(keys.getKey(`${was.url}/nobody`, 'k'), 'bad_status')
})

test('a wallet address with a query or fragment is invalid_url', async (t) => {
  const { was, keys } = await setup(t)
  await rejectsWith(keys.getKey(`${was.url}/a?x=1`, 'k'), 'invalid_url')
  await rejectsWith(keys.getWalletAddress(`${was.url}/a#frag`), 'invalid_url')
})

test('SSRF rules apply: private addresses are refused unless allowPrivate', async (t) => {
  const { was, keys } = await setup(t, { allowPrivate: false })
  const c = was.addClient('dave')
  await rejectsWith(keys.getKey(c.walletAddress, c.keyId), 'forbidden_address')
  await rejectsWith(keys.getWalletAddress(c.walletAddress), 'forbidden_address')
  assert.equal(was.hits('/dave/jwks.json') + was.hits('/dave'), 0)
})

test('second getKey is served from cache; after cacheTtlMs it refetches', async (t) => {
  const { was, keys, clock } = await setup(t)
  const c = was.addClient('erin')
  const first = await keys.getKey(c.walletAddress, c.keyId)
  assert.equal(await keys.getKey(c.walletAddress, c.keyId), first, 'imported once, reused')
  assert.equal(was.hits('/erin/jwks.json'), 1)
  clock.t += 59_999
  await keys.getKey(c.walletAddress, c.keyId)
  assert.equal(was.hits('/erin/jwks.json'), 1)
  clock.t += 1
  await keys.getKey(c.walletAddress, c.keyId)
  assert.equal(was.hits('/erin/jwks.json'), 2)
})

test('a removed key stops being accepted once the cached JWKS expires', async (t) => {
  const { was, keys, clock } = await setup(t)
  const c = was.addClient('frank')
  const other = was.addKey('frank')
  await keys.getKey(c.walletAddress, c.keyId)
  was.removeKey('frank', c.keyId)
  await keys.getKey(c.walletAddress, c.keyId)
  clock.t += 60_000
  await rejectsWith(keys.getKey(c.walletAddress, c.keyId), 'unknown_key')
  assert.ok(await keys.getKey(other.walletAddress, other.keyId))
  assert.equal(was.hits('/frank/jwks.json'), 2)
})

test('a new kid triggers one refetch; a stream of unknown kids then fetches nothing', async (t) => {
  const { was, keys, clock } = await setup(t)
  const c = was.addClient('gina')
  await keys.getKey(c.walletAddress, c.keyId)
  const added = was.addKey('gina')
  assert.ok(await keys.getKey(added.walletAddress, added.keyId))
  assert.equal(was.hits('/gina/jwks.json'), 2)
  for (let i = 0; i < 25; i++) {
    await rejectsWith(keys.getKey(c.walletAddress, `made-up-${i}`), 'unknown_key')
    clock.t += 300
  }
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      rejectsWith(keys.getKey(c.walletAddress, `burst-${i}`), 'unknown_key')
    )
  )
  assert.equal(was.hits('/gina/jwks.json'), 2)
  clock.t += 10_000
  await rejectsWith(keys.getKey(c.walletAddress, 'after-interval'), 'unknown_key')
  assert.equal(was.hits('/gina/jwks.json'), 3)
  assert.ok(await keys.getKey(c.walletAddress, c.keyId), 'known keys still served')
  assert.equal(was.hits('/gina/jwks.json'), 3)
})

test('concurrent callers share one fetch (single flight)', async (t) => {
  const { was, keys } = await setup(t)
  const c = was.addClient('hank')
  const results = await Promise.all(
    Array.from({ length: 20 }, () => keys.getKey(c.walletAddress, c.keyId))
  )
  assert.equal(was.hits('/hank/jwks.json'), 1)
  assert.ok(results.every((k) => k === results[0]))
  const docs = await Promise.all(
    Array.from({ length: 20 }, () => keys.getWalletAddress(c.walletAddress))
  )
  assert.equal(was.hits('/hank'), 1)
  assert.ok(docs.every((d) => d === docs[0]))
})
