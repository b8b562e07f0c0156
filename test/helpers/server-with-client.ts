import { startTestServer, type TestServer } from './test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from './wallet-address-server.js'

export interface ServerWithClient {
  server: TestServer
  wallets: WalletAddressServer
  /** A client whose wallet address advertises the operator tenant's grant endpoint. */
  app: TestClient
  close(): Promise<void>
}

/** The usual test world: opas, a local wallet-address server and one client of it. */
export async function startServerWithClient(
  env: Record<string, string> = {},
  options: Parameters<typeof startTestServer>[1] = {}
): Promise<ServerWithClient> {
  const wallets = await startWalletAddressServer()
  // A start that fails must not leave the wallet server open: the test file would never end.
  const server = await startTestServer(env, options).catch(async (err: unknown) => {
    await wallets.close()
    throw err
  })
  const app = wallets.addClient('app', { authServer: server.grantUrl })
  return {
    server,
    wallets,
    app,
    async close() {
      await server.close()
      await wallets.close()
    }
  }
}
