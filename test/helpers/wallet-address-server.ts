import { generateKeyPairSync, randomUUID } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A client of the AS: its wallet address and one of its signing keys. */
export interface TestClient {
  walletAddress: string
  keyId: string
  privateKey: KeyObject
  publicJwk: JsonWebKey & { kid: string }
}

export interface AddClientOptions {
  /** null omits publicName from the document; default `Test Client {name}`. */
  publicName?: string | null
  /** Default http://127.0.0.1:3006 (opas' default listen address). */
  authServer?: string
  /** Default `{url}/resource`. */
  resourceServer?: string
  assetCode?: string
  assetScale?: number
}

export interface WalletAddressServer {
  /** Origin, e.g. http://127.0.0.1:PORT */
  url: string
  /** Register a client with a fresh Ed25519 key; its wallet address is `{url}/{name}`. */
  addClient(name: string, opts?: AddClientOptions): TestClient
  /** Another key for an existing client (same wallet address). */
  addKey(name: string): TestClient
  removeKey(name: string, keyId: string): void
  /** How many GET requests `path` received (any status). */
  hits(path: string): number
  close(): Promise<void>
}

interface Client {
  document: Record<string, unknown>
  keys: Map<string, JsonWebKey & { kid: string }>
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json)
  })
  res.end(json)
}

/**
 * A local Open Payments wallet address server (wallet-address-server.yaml: `GET /{name}` and
 * `GET /{name}/jwks.json`) for tests and SDK flows. Listens on 127.0.0.1 by default.
 */
export async function startWalletAddressServer(opts?: {
  host?: string
}): Promise<WalletAddressServer> {
  const host = opts?.host ?? '127.0.0.1'
  const clients = new Map<string, Client>()
  const hitCounts = new Map<string, number>()

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method === 'GET') hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1)
    const isJwks = path.endsWith('/jwks.json')
    const client = clients.get(isJwks ? path.slice(1, -'/jwks.json'.length) : path.slice(1))
    if (req.method !== 'GET' || client === undefined) {
      return sendJson(res, 404, { error: 'not_found' })
    }
    if (isJwks) return sendJson(res, 200, { keys: [...client.keys.values()] })
    return sendJson(res, 200, client.document)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  function newKey(name: string, client: Client): TestClient {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const keyId = `${name}-${randomUUID()}`
    const jwk = publicKey.export({ format: 'jwk' })
    const publicJwk = { kid: keyId, alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519', x: jwk.x }
    client.keys.set(keyId, publicJwk)
    return { walletAddress: `${url}/${name}`, keyId, privateKey, publicJwk: { ...publicJwk } }
  }

  function getClient(name: string): Client {
    const client = clients.get(name)
    if (client === undefined) throw new Error(`unknown test client ${name}`)
    return client
  }

  return {
    url,
    addClient(name, o = {}) {
      if (name === '' || name.startsWith('/') || name.endsWith('/jwks.json')) {
        throw new Error(`invalid test client name ${name}`)
      }
      if (clients.has(name)) throw new Error(`test client ${name} already exists`)
      const document: Record<string, unknown> = {
        id: `${url}/${name}`,
        assetCode: o.assetCode ?? 'USD',
        assetScale: o.assetScale ?? 2,
        authServer: o.authServer ?? 'http://127.0.0.1:3006',
        resourceServer: o.resourceServer ?? `${url}/resource`
      }
      if (o.publicName !== null) document.publicName = o.publicName ?? `Test Client ${name}`
      const client: Client = { document, keys: new Map() }
      clients.set(name, client)
      return newKey(name, client)
    },
    addKey: (name) => newKey(name, getClient(name)),
    removeKey(name, keyId) {
      if (!getClient(name).keys.delete(keyId)) throw new Error(`unknown key ${keyId} of ${name}`)
    },
    hits: (path) => hitCounts.get(path) ?? 0,
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        // Keep-alive connections from HTTP clients would otherwise hold close() open.
        server.closeAllConnections()
      })
    }
  }
}
