import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import type { ResolvedAddress } from '../../src/client-keys/index.js'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { signedRequest } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'

/**
 * SSRF through client key fetches, with the production configuration (NODE_ENV=production:
 * private addresses refused). Plain http stays allowed here and 127.0.0.1/32 is opened with
 * CLIENT_FETCH_ALLOWED_CIDRS, so that the local wallet-address server is reachable and every
 * refusal below is the address policy's. Host names are answered by a resolver of the test's.
 */

let wallets: WalletAddressServer
let server: TestServer
let redirector: Server
let redirectorPort: number
let app: TestClient
const lookups = new Map<string, number>()

/** The answers of the test's DNS: a name, or a sequence of answers for successive lookups. */
const zone: Record<string, ResolvedAddress[][]> = {
  'wallet.example': [[{ address: '127.0.0.1', family: 4 }]],
  'metadata.example': [[{ address: '169.254.169.254', family: 4 }]],
  'intranet.example': [[{ address: '10.0.0.5', family: 4 }]],
  'other-loopback.example': [[{ address: '127.0.0.2', family: 4 }]],
  'v6-loopback.example': [[{ address: '::1', family: 6 }]],
  // One public-looking answer hiding a private one: the whole answer is refused.
  'mixed.example': [
    [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.5', family: 4 }
    ]
  ],
  // Rebinding: the first lookup says the allowed address, every later one a private address.
  'rebind.example': [[{ address: '127.0.0.1', family: 4 }], [{ address: '10.0.0.5', family: 4 }]]
}

async function resolve(hostname: string): Promise<ResolvedAddress[]> {
  const answers = zone[hostname]
  if (!answers) throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' })
  const n = lookups.get(hostname) ?? 0
  lookups.set(hostname, n + 1)
  return answers[Math.min(n, answers.length - 1)]!
}

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer(
    {
      NODE_ENV: 'production',
      CLIENT_FETCH_ALLOW_HTTP: 'true',
      CLIENT_FETCH_ALLOWED_CIDRS: '127.0.0.1/32',
      CLIENT_KEY_CACHE_TTL_SECONDS: '1'
    },
    { resolve }
  )
  app = wallets.addClient('app', { authServer: server.grantUrl })
  // A server on the allowed address that redirects every request to the URL encoded in the
  // first segment of its path (a wallet address `http://127.0.0.1:port/<encoded URL>`).
  redirector = createServer((req, res) => {
    const to = decodeURIComponent(req.url!.split('/')[1] ?? '')
    res.writeHead(302, { location: to }).end()
  })
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r))
  redirectorPort = (redirector.address() as { port: number }).port
})
after(async () => {
  await server.close()
  await wallets.close()
  await new Promise((r) => redirector.close(r))
})

const walletPort = () => new URL(wallets.url).port

/** A grant request naming `walletAddress` as the client, signed with the app's key. */
function grantAs(walletAddress: string) {
  return signedRequest(server.grantUrl, {
    client: app,
    body: {
      client: walletAddress,
      access_token: { access: [{ type: 'quote', actions: ['create'] }] }
    }
  })
}

const refused = (res: Awaited<ReturnType<typeof grantAs>>) =>
  assertGnapError(res, 400, 'invalid_client', 'could not determine client')

describe('client key fetches in production', () => {
  test('control: the wallet-address server on the allowed address, by IP and by name', async () => {
    assert.equal((await grantAs(app.walletAddress)).status, 200)
    const byName = app.walletAddress.replace('127.0.0.1', 'wallet.example')
    const res = await grantAs(byName)
    assert.equal(res.status, 200, res.text)
  })

  test('IP literals of loopback, private, link-local and metadata addresses are refused unfetched', async () => {
    const before = wallets.hits('/app/jwks.json')
    for (const host of [
      '127.0.0.2',
      '10.0.0.5',
      '192.168.1.1',
      '169.254.169.254',
      '[::1]',
      '0.0.0.0'
    ]) {
      refused(await grantAs(`http://${host}:${walletPort()}/app`))
    }
    assert.equal(wallets.hits('/app/jwks.json'), before)
  })

  test('names resolving to such addresses are refused, and so is an answer mixing them in', async () => {
    for (const host of [
      'metadata.example',
      'intranet.example',
      'other-loopback.example',
      'v6-loopback.example',
      'mixed.example'
    ]) {
      refused(await grantAs(`http://${host}:${walletPort()}/app`))
    }
  })

  test('a redirect to a refused address is not followed, whether by IP or by name', async () => {
    for (const target of [
      'http://169.254.169.254/latest/meta-data/',
      `http://metadata.example:${walletPort()}/app/jwks.json`,
      `http://127.0.0.2:${walletPort()}/app/jwks.json`
    ]) {
      refused(await grantAs(`http://127.0.0.1:${redirectorPort}/${encodeURIComponent(target)}`))
    }
    // Control: the same redirector sending the fetch to the real JWKS is followed.
    const real = `${app.walletAddress}/jwks.json`
    const res = await grantAs(`http://127.0.0.1:${redirectorPort}/${encodeURIComponent(real)}`)
    assert.equal(res.status, 200, res.text)
  })

  test('DNS rebinding: the answer checked is the answer connected to; a later answer is checked again', async () => {
    const address = `http://rebind.example:${walletPort()}/app`
    const first = await grantAs(address)
    assert.equal(first.status, 200, first.text)
    // Once the cached keys (1 s) and the pooled keep-alive connection (the server's 5 s hint)
    // are gone, the next fetch resolves again, gets the private address, and is refused.
    await new Promise((r) => setTimeout(r, 5500))
    refused(await grantAs(address))
    assert.ok((lookups.get('rebind.example') ?? 0) >= 2)
  })
})
