// `npm run demo`: the whole Open Payments authorization flow against a running opas, step by
// step, with the official client (@interledger/open-payments). It serves its own wallet
// addresses (the app's, with its signing key, and the account holder's), asks for an outgoing
// payment grant, prints the consent link, waits for the browser to come back, then continues,
// rotates and revokes the token, checking each token by introspection.
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { isFinalizedGrant, isPendingGrant } from '@interledger/open-payments'
import { ConfigError, loadConfig } from '../src/config/index.js'
import { outgoingPaymentAccess, sdkClientFor } from '../test/helpers/sdk-client.js'
import { startWalletAddressServer } from '../test/helpers/wallet-address-server.js'

const config = loadDemoConfig()
const defaultIntrospectionUrl = localUrl(config.introspectionListenHost, config.introspectionPort)

const usage = `usage: npm run demo -- [--auth URL] [--introspection URL]

Runs a scripted Open Payments client against a running opas (start it first: npm start).
It reads the same configuration as the server (the environment and ${config.envFile}).
  --auth URL            opas' public listener, default AUTH_SERVER_URL (${config.authServerUrl})
  --introspection URL   its introspection listener, default ${defaultIntrospectionUrl}`

/** The server's own configuration, so that the demo finds the server `npm start` runs. */
function loadDemoConfig() {
  try {
    const readFile = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined)
    return loadConfig(process.env, readFile).config
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(
      `demo: the configuration is invalid:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`
    )
    process.exit(1)
  }
}

/** A listener of this machine's server, reached where it listens (its *_LISTEN_HOST). */
function localUrl(listenHost: string, port: number): string {
  const wildcard = ['0.0.0.0', '::'].includes(listenHost)
  const host = wildcard ? 'localhost' : listenHost.includes(':') ? `[${listenHost}]` : listenHost
  return `http://${host}:${port}`
}

const { values } = parseArgs({
  options: {
    auth: { type: 'string', default: config.authServerUrl },
    introspection: { type: 'string', default: defaultIntrospectionUrl },
    help: { type: 'boolean', default: false }
  }
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const authUrl = values.auth.replace(/\/$/, '')
const introspectionUrl = values.introspection.replace(/\/$/, '')

let stepNo = 0
const step = (text: string) => console.log(`\n${++stepNo}. ${text}`)
const detail = (text: string) => console.log(`   ${text}`)
const short = (token: string) => `${token.slice(0, 8)}…`

class DemoError extends Error {}

async function introspect(token: string): Promise<boolean> {
  const res = await fetch(`${introspectionUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ access_token: token })
  }).catch(() => {
    throw new DemoError(
      `no opas introspection listener answers at ${introspectionUrl} (INTROSPECTION_PORT, or ` +
        '--introspection URL)'
    )
  })
  if (!res.ok) throw new DemoError(`introspection answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { active: boolean }).active
}

/** A local page the browser returns to after the choice; resolves with its query. */
async function startFinishPage() {
  let arrived: (params: URLSearchParams) => void = () => {}
  const returned = new Promise<URLSearchParams>((resolve) => (arrived = resolve))
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== '/finish') return void res.writeHead(404).end()
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>opas demo</title><p>Done: go back to the terminal.</p>')
    arrived(url.searchParams)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/finish`
  return { uri, returned, close: () => server.close() }
}

async function discover(): Promise<string> {
  let res: Response
  try {
    res = await fetch(`${authUrl}/discovery`)
  } catch {
    throw new DemoError(
      `no opas answers at ${authUrl}/discovery (AUTH_SERVER_URL, or --auth): start it with ` +
        '`npm start`, or point the demo at it with --auth URL'
    )
  }
  if (!res.ok) throw new DemoError(`${authUrl}/discovery answered ${res.status}`)
  return ((await res.json()) as { grant_request_endpoint: string }).grant_request_endpoint
}

async function run(): Promise<void> {
  step(`Discovering opas at ${authUrl}`)
  const grantEndpoint = await discover()
  detail(`grant endpoint: ${grantEndpoint}`)

  step('Serving wallet addresses for the app and for the account holder (Alice)')
  const wallets = await startWalletAddressServer()
  const finish = await startFinishPage()
  try {
    const app = wallets.addClient('demo-app', {
      publicName: 'opas demo app',
      authServer: grantEndpoint
    })
    const alice = `${wallets.addClient('alice', { authServer: grantEndpoint }).walletAddress}`
    detail(`app:   ${app.walletAddress} (its public key at ${app.walletAddress}/jwks.json)`)
    detail(`Alice: ${alice}`)
    const client = await sdkClientFor(app)

    step('Requesting a grant to send up to USD 5.00 a month from Alice, 12 times')
    const nonce = randomBytes(16).toString('hex')
    const grant = await client.grant.request(
      { url: grantEndpoint },
      {
        access_token: {
          access: [outgoingPaymentAccess(alice, new Date().toISOString().slice(0, 10))]
        },
        interact: { start: ['redirect'], finish: { method: 'redirect', uri: finish.uri, nonce } }
      }
    )
    if (!isPendingGrant(grant)) throw new DemoError('expected the grant to need consent')
    // RFC 9635 §3.1: the client waits `wait` seconds before it continues.
    const continueAfter = Date.now() + (grant.continue.wait ?? 0) * 1000
    detail('pending: the account holder must agree')

    step('Open this link in a browser, read the request and choose Accept or Decline:')
    console.log(`\n   ${grant.interact.redirect}\n`)
    detail('waiting for the browser to come back…')
    const params = await finish.returned

    if (params.get('result')) {
      step(`The browser came back with result=${params.get('result')}`)
      detail('no token: the account holder declined (or the request ended). Run again to accept.')
      return
    }
    const interactRef = params.get('interact_ref') ?? ''
    const expected = createHash('sha256')
      .update(`${nonce}\n${grant.interact.finish}\n${interactRef}\n${grantEndpoint}`)
      .digest('base64')
    step('The browser came back with interact_ref and hash')
    if (params.get('hash') !== expected) throw new DemoError('the finish hash does not verify')
    detail('hash verified (RFC 9635 §4.2.3): this answer comes from opas, for this request')

    step('Continuing the grant')
    await new Promise((resolve) => setTimeout(resolve, continueAfter - Date.now()))
    const continued = await client.grant.continue(
      { url: grant.continue.uri, accessToken: grant.continue.access_token.value },
      { interact_ref: interactRef }
    )
    if (!isFinalizedGrant(continued) || !continued.access_token) {
      throw new DemoError('the continuation did not issue a token')
    }
    const first = continued.access_token
    detail(`access token ${short(first.value)}, expires in ${first.expires_in ?? '?'} s`)
    detail(`introspection: active=${await introspect(first.value)}`)

    step('Rotating the token')
    const rotated = (await client.token.rotate({ url: first.manage, accessToken: first.value }))
      .access_token
    detail(`new token ${short(rotated.value)}`)
    detail(
      `introspection: old active=${await introspect(first.value)}, new active=${await introspect(rotated.value)}`
    )

    step('Revoking the token')
    await client.token.revoke({ url: rotated.manage, accessToken: rotated.value })
    detail(`introspection: active=${await introspect(rotated.value)}`)

    console.log('\nDone: the whole flow ran through opas.')
  } finally {
    finish.close()
    await wallets.close()
  }
}

run().then(
  () => process.exit(0),
  (err: unknown) => {
    const message =
      err instanceof DemoError ? err.message : err instanceof Error ? err.stack : String(err)
    console.error(`\ndemo failed: ${message}`)
    process.exit(1)
  }
)
