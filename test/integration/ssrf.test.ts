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
 *
 * Traps: the same wallet address, with the signing client's key, is served on 127.0.0.2 and
 * [::1] on the same port as the allowed server. Without the guard every refused request below
 * would fetch a valid key from one of them and be granted; with it the traps are never reached,
 * and the guard's own reason (`forbidden_address`) is logged for each refusal.
 */

let wallets: WalletAddressServer
let traps: WalletAddressServer[]
let server: TestServer
let redirector: Server
let redirectorPort: number
let app: TestClient
const lookups = new Map<string, number>()
const logLines: string[] = []

/** The answers of the test's DNS: a name, or a sequence of answers for successive lookups. */
const zone: Record<string, ResolvedAddress[][]> = {
  'wallet.example': [[{ address: '127.0.0.1', family: 4 }]],
  'metadata.example': [[{ address: '169.254.169.254', family: 4 }]],
  'intranet.example': [[{ address: '10.0.0.5', family: 4 }]],
  'other-loopback.example': [[{ address: '127.0.0.2', family: 4 }]],
  'v6-loopback.example': [[{ address: '::1', family: 6 }]],
  // One allowed answer beside a refused one (a trap): the whole answer is refused.
  'mixed.example': [
    [
      { address: '127.0.0.1', family: 4 },
      { address: '127.0.0.2', family: 4 }
    ]
  ],
  // Rebinding: the first lookup says the allowed address, every later one the trap's.
  'rebind.example': [[{ address: '127.0.0.1', family: 4 }], [{ address: '127.0.0.2', family: 4 }]]
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
  const port = Number(new URL(wallets.url).port)
  traps = await Promise.all(
    ['127.0.0.2', '::1'].map((host) => startWalletAddressServer({ host, port }))
  )
  server = await startTestServer(
    {
      NODE_ENV: 'production',
      // Production on the test's embedded database (or the PostgreSQL pass's server).
      ALLOW_EMBEDDED_DATABASE_IN_PRODUCTION: 'true',
      LOG_LEVEL: 'warn',
      CLIENT_FETCH_ALLOW_HTTP: 'true',
      CLIENT_FETCH_ALLOWED_CIDRS: '127.0.0.1/32',
      CLIENT_KEY_CACHE_TTL_SECONDS: '1'
    },
    { resolve, logStream: { write: (line) => void logLines.push(line) } }
  )
  app = wallets.addClient('app', { authServer: server.grantUrl })
  for (const trap of traps) trap.addClient('app', { authServer: server.grantUrl, sameKeyAs: app })
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
  for (const trap of traps) await trap.close()
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

/**
 * Refused by the guard itself: the answer any failed key fetch gets, and, in the log, the
 * guard's reason for this wallet address's keys (any other failure logs another reason).
 */
function refusedByGuard(res: Awaited<ReturnType<typeof grantAs>>, walletAddress: string) {
  assertGnapError(res, 400, 'invalid_client', 'could not determine client')
  const failures = logLines
    .splice(0)
    .map((line) => JSON.parse(line) as { msg?: string; url?: string; reason?: string })
    .filter((entry) => entry.msg === 'client key fetch failed')
  assert.deepEqual(
    failures.map(({ url, reason }) => ({ url, reason })),
    [{ url: `${walletAddress}/jwks.json`, reason: 'forbidden_address' }]
  )
}

/** Neither trap was ever reached. */
const assertTrapsUntouched = () =>
  assert.deepEqual(
    traps.map((trap) => trap.totalHits()),
    [0, 0]
  )

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
      '[::1]',
      // 0.0.0.0 connects to this host: to the allowed server itself.
      '0.0.0.0',
      '10.0.0.5',
      '192.168.1.1',
      '169.254.169.254'
    ]) {
      const address = `http://${host}:${walletPort()}/app`
      refusedByGuard(await grantAs(address), address)
    }
    assert.equal(wallets.hits('/app/jwks.json'), before)
    assertTrapsUntouched()
  })

  test('names resolving to such addresses are refused, and so is an answer mixing them in', async () => {
    for (const host of [
      'other-loopback.example',
      'v6-loopback.example',
      'mixed.example',
      'metadata.example',
      'intranet.example'
    ]) {
      const address = `http://${host}:${walletPort()}/app`
      refusedByGuard(await grantAs(address), address)
    }
    assertTrapsUntouched()
  })

  test('a redirect to a refused address is not followed, whether by IP or by name', async () => {
    for (const target of [
      `http://127.0.0.2:${walletPort()}/app/jwks.json`,
      `http://[::1]:${walletPort()}/app/jwks.json`,
      `http://other-loopback.example:${walletPort()}/app/jwks.json`,
      'http://169.254.169.254/latest/meta-data/'
    ]) {
      const address = `http://127.0.0.1:${redirectorPort}/${encodeURIComponent(target)}`
      refusedByGuard(await grantAs(address), address)
    }
    assertTrapsUntouched()
    // Control: the same redirector sending the fetch to the real JWKS is followed.
    const real = `${app.walletAddress}/jwks.json`
    const res = await grantAs(`http://127.0.0.1:${redirectorPort}/${encodeURIComponent(real)}`)
    assert.equal(res.status, 200, res.text)
  })

  test('DNS rebinding: the answer checked is the answer connected to; a later answer is checked again', async () => {
    const address = `http://rebind.example:${walletPort()}/app`
    const first = await grantAs(address)
    assert.equal(first.status, 200, first.text)
    logLines.splice(0)
    // Once the cached keys (1 s) and the pooled keep-alive connection (the server's 5 s hint)
    // are gone, the next fetch resolves again, gets the trap's address, and is refused.
    await new Promise((r) => setTimeout(r, 5500))
    refusedByGuard(await grantAs(address), address)
    assert.ok((lookups.get('rebind.example') ?? 0) >= 2)
    assertTrapsUntouched()
  })
})
