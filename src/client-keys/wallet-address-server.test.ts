import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createUnauthenticatedClient } from '@interledger/open-payments'
import { startWalletAddressServer } from '../../test/helpers/wallet-address-server.js'

// The helper must serve documents the official client accepts: it validates responses
// against wallet-address-server.yaml.
test('the test wallet address server satisfies the official Open Payments client', async (t) => {
  const was = await startWalletAddressServer()
  t.after(() => was.close())
  const sdk = await createUnauthenticatedClient({ useHttp: true, logLevel: 'silent' })
  const alice = was.addClient('alice')
  const second = was.addKey('alice')
  const anon = was.addClient('anon', { publicName: null, authServer: 'http://127.0.0.1:9999' })

  const doc = await sdk.walletAddress.get({ url: alice.walletAddress })
  assert.equal(doc.id, alice.walletAddress)
  assert.equal(doc.publicName, 'Test Client alice')
  assert.equal(doc.assetCode, 'USD')
  assert.equal(doc.assetScale, 2)
  assert.equal(doc.authServer, 'http://127.0.0.1:3006')

  const jwks = await sdk.walletAddress.getKeys({ url: alice.walletAddress })
  assert.deepEqual(
    jwks.keys.map((k) => k.kid),
    [alice.keyId, second.keyId]
  )
  assert.deepEqual(jwks.keys[0], alice.publicJwk)
  assert.notEqual(alice.keyId, second.keyId)

  const anonDoc = await sdk.walletAddress.get({ url: anon.walletAddress })
  assert.equal('publicName' in anonDoc, false)
  assert.equal(anonDoc.authServer, 'http://127.0.0.1:9999')

  was.removeKey('alice', alice.keyId)
  const after = await sdk.walletAddress.getKeys({ url: alice.walletAddress })
  assert.deepEqual(
    after.keys.map((k) => k.kid),
    [second.keyId]
  )
  await assert.rejects(sdk.walletAddress.get({ url: `${was.url}/nobody` }))
  assert.equal(was.hits('/alice'), 1)
  assert.equal(was.hits('/alice/jwks.json'), 2)
  assert.equal(was.hits('/nobody'), 1)
})

test('the helper listens on the host it is given', async (t) => {
  const was = await startWalletAddressServer({ host: '127.0.0.1' })
  t.after(() => was.close())
  assert.match(was.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.throws(() => was.addKey('ghost'))
  was.addClient('x')
  assert.throws(() => was.addClient('x'))
})
