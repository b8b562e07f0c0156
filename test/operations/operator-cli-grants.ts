import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before } from 'node:test'
import { isFinalizedGrant } from '@interledger/open-payments'
import {
  introspectsActive,
  localServerEnv,
  ranOpas,
  startedOpas,
  stoppedOpas,
  tempFolder
} from '../helpers/opas-process.js'
import { sdkClientFor } from '../helpers/sdk-client.js'
import { startWalletAddressServer } from '../helpers/wallet-address-server.js'

/** What the operator-cli tests operate on, in a data directory of their own. */
interface GrantsToOperate {
  /** The server's environment, for a test that starts it again. */
  env: Record<string, string>
  /** The wallet-address server the client is at (its addresses begin with this URL). */
  walletsUrl: string
  /** The two live grants' tokens: read access, then create and read on `${walletsUrl}/alice`. */
  tokens: [string, string]
  /** A grant whose one token the app revoked at its management URL (RFC 9635 §6.2). */
  tokenRevoked: { id: string; token: string }
}

/**
 * For the test file that calls it (at its top level: it registers the file's hooks): a new data
 * directory, filled before its tests with three grants the app made through the SDK (two live;
 * one whose token it revoked), the server stopped again, as an operator finds it between two
 * runs; removed after them. Read the grants' fields in a test; `opas` runs a command on it.
 */
export function useGrantsToOperate(prefix: string): GrantsToOperate & {
  dataDir: string
  /** `opas <args>` on that data directory, the server stopped or running. */
  opas: (...args: string[]) => ReturnType<typeof ranOpas>
} {
  const dataDir = tempFolder(prefix)
  const opas = (...args: string[]) => ranOpas(args, { DATA_DIR: dataDir })
  let made: GrantsToOperate | undefined
  before(async () => {
    made = await grantsIn(dataDir, opas)
  })
  after(() => rmSync(dataDir, { recursive: true, force: true }))
  const get = (): GrantsToOperate => {
    if (!made) throw new Error('useGrantsToOperate: read in a test, after the file set it up')
    return made
  }
  return {
    dataDir,
    opas,
    get env() {
      return get().env
    },
    get walletsUrl() {
      return get().walletsUrl
    },
    get tokens() {
      return get().tokens
    },
    get tokenRevoked() {
      return get().tokenRevoked
    }
  }
}

async function grantsIn(
  dataDir: string,
  opas: (...args: string[]) => ReturnType<typeof ranOpas>
): Promise<GrantsToOperate> {
  const env = await localServerEnv(dataDir)
  const server = await startedOpas(env)
  const tenantId = (await server.printed(/OPERATOR_TENANT_ID=([0-9a-f-]{36})/))[1]!
  // Only the grant requests fetch the app's key: the server stays up for them alone.
  const wallets = await startWalletAddressServer()
  const tokens: string[] = []
  let revoked: string
  try {
    const grantUrl = `http://localhost:${env.AUTH_PORT}/${tenantId}`
    const app = wallets.addClient('shop', { authServer: grantUrl, publicName: 'Corner Shop' })
    const client = await sdkClientFor(app)
    for (const access of [
      [{ type: 'incoming-payment' as const, actions: ['read' as const] }],
      [
        {
          type: 'incoming-payment' as const,
          actions: ['create' as const, 'read' as const],
          identifier: `${wallets.url}/alice`
        }
      ]
    ]) {
      const grant = await client.grant.request({ url: grantUrl }, { access_token: { access } })
      assert.ok(isFinalizedGrant(grant) && grant.access_token)
      tokens.push(grant.access_token.value)
    }
    const third = await client.grant.request(
      { url: grantUrl },
      { access_token: { access: [{ type: 'quote', actions: ['read'] }] } }
    )
    assert.ok(isFinalizedGrant(third) && third.access_token)
    await client.token.revoke({
      url: third.access_token.manage,
      accessToken: third.access_token.value
    })
    assert.equal(await introspectsActive(env, third.access_token.value), false)
    revoked = third.access_token.value
  } finally {
    await wallets.close()
  }
  await stoppedOpas(server)
  const quotes = JSON.parse((await opas('grants', 'list', '--json')).output) as {
    id: string
    access: { type: string }[]
  }[]
  return {
    env,
    walletsUrl: wallets.url,
    tokens: [tokens[0]!, tokens[1]!],
    tokenRevoked: {
      id: quotes.find((g) => g.access[0]?.type === 'quote')!.id,
      token: revoked
    }
  }
}
