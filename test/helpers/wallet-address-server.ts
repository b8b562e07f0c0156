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
  /** Publish this client's key (its kid and private key sign for both) instead of a new one. */
  sameKeyAs?: TestClient
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
  /** How many requests the server received, on any path. */
  totalHits(): number
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
  /** Default: any free port. */
  port?: number
  /** Awaited before each answer: a test holds requests in flight with it. */
  beforeAnswer?: (path: string) => Promise<void>
}): Promise<WalletAddressServer> {
  const host = opts?.host ?? '127.0.0.1'
  const clients = new Map<string, Client>()
  const hitCounts = new Map<string, number>()
  let totalHits = 0

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    totalHits++
    if (req.method === 'GET') hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1)
    await opts?.beforeAnswer?.(path)
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
    server.listen(opts?.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  function newKey(name: string, client: Client, same?: TestClient): TestClient {
    if (same) {
      client.keys.set(same.keyId, { ...same.publicJwk })
      return { ...same, walletAddress: `${url}/${name}`, publicJwk: { ...same.publicJwk } }
    }
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
      return newKey(name, client, o.sameKeyAs)
    },
    addKey: (name) => newKey(name, getClient(name)),
    removeKey(name, keyId) {
      if (!getClient(name).keys.delete(keyId)) throw new Error(`unknown key ${keyId} of ${name}`)
    },
    hits: (path) => hitCounts.get(path) ?? 0,
    totalHits: () => totalHits,
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        // Keep-alive connections from HTTP clients would otherwise hold close() open.
        server.closeAllConnections()
      })
    }
  }
}
