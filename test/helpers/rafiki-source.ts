import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ImportOptions } from '../../src/rafiki-import/rafiki-import.js'
import type { RafikiTable } from '../../src/rafiki-import/rafiki-rows.js'
import type { Db } from '../../src/storage/db.js'
import { createSecretBox } from '../../src/tenant/secret-box.js'
import { openTestDb } from './store-test.js'
import { startTestServer, type TestServer } from './test-server.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from './wallet-address-server.js'

/**
 * A Rafiki auth database for the tests of `opas import rafiki` (issue 25): a scratch database
 * built from test/fixtures/rafiki/auth-schema.sql (Rafiki's 14 knex migrations), and rows
 * written as Rafiki writes them.
 */

const schema = readFileSync(new URL('../fixtures/rafiki/auth-schema.sql', import.meta.url), 'utf8')

export async function openRafikiSource(): Promise<{ db: Db; close: () => Promise<void> }> {
  const { db, close } = await openTestDb({ migrated: false })
  await db.exec(schema)
  return { db, close }
}

/** Rafiki's token values: 20 upper-case hex characters. */
export const rafikiToken = () => randomBytes(10).toString('hex').toUpperCase()

/** Inserts one row into a Rafiki table; its columns are the keys, named as Rafiki names them. */
export async function insertRafiki(
  db: Db,
  table: RafikiTable,
  row: Record<string, unknown>
): Promise<void> {
  const columns = Object.keys(row)
  await db.query(
    `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')})
     values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    columns.map((c) => {
      const value = row[c]
      return value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        !(value instanceof Date)
        ? JSON.stringify(value)
        : value
    })
  )
}

/** A grant as Rafiki writes one it issued without interaction; `fields` override. */
export async function insertRafikiGrant(
  db: Db,
  fields: { id?: string; tenantId: string; client?: string | null } & Record<string, unknown>
): Promise<{ id: string; continueId: string; continueToken: string }> {
  const grant = {
    id: randomUUID(),
    state: 'FINALIZED',
    finalizationReason: 'ISSUED',
    continueToken: rafikiToken(),
    continueId: randomUUID(),
    ...fields
  }
  await insertRafiki(db, 'grants', grant)
  return grant as { id: string; continueId: string; continueToken: string }
}

/** An access token as Rafiki writes it, live for 600 s from `createdAt` unless revoked. */
export async function insertRafikiToken(
  db: Db,
  fields: { grantId: string; value?: string; managementId?: string } & Record<string, unknown>
): Promise<{ value: string; managementId: string }> {
  const token = {
    id: randomUUID(),
    value: rafikiToken(),
    managementId: randomUUID(),
    expiresIn: 600,
    ...fields
  }
  await insertRafiki(db, 'accessTokens', token)
  return token
}

/** What the import's integration tests start from: a Rafiki source, a running opas, a client. */
export interface ImportWorld {
  source: Db
  server: TestServer
  wallets: WalletAddressServer
  app: TestClient
  /** The import's options for this source and server, as the CLI would set them. */
  importOptions(sourceName: string): ImportOptions
  close(): Promise<void>
}

export async function startImportWorld(): Promise<ImportWorld> {
  const { db: source, close: closeSource } = await openRafikiSource()
  const wallets = await startWalletAddressServer()
  const server = await startTestServer()
  const app = wallets.addClient('app', { authServer: server.grantUrl })
  return {
    source,
    server,
    wallets,
    app,
    importOptions: (sourceName) => ({
      source,
      sourceName,
      target: server.services.db,
      authServerUrl: server.services.config.authServerUrl,
      seal: createSecretBox(server.env.TENANT_SECRETS_KEY!).seal
    }),
    async close() {
      await server.close()
      await wallets.close()
      await closeSource()
    }
  }
}
