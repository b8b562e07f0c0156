import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { openTestDb, seedGrant, seedTenant } from '../../test/helpers/store-test.js'
import { normalizeWalletAddress } from '../gnap/client-identity.js'
import type { Db } from './db.js'
import { applyMigrations, listMigrations, migrate } from './migrate.js'

/*
 * Migration 008 rewrites the clients' wallet addresses stored before they were normalised into
 * the spelling normalizeWalletAddress gives them now, wherever SQL can be certain of it, and
 * leaves the others as they were (they are read in their normal form: storedClient).
 */

let db: Db
let close: (() => Promise<void>) | undefined

before(async () => {
  ;({ db, close } = await openTestDb({ migrated: false }))
})
after(() => close?.())

const pick = <T>(...values: T[]) => fc.constantFrom(...values)

/** Spellings of wallet addresses as clients sent them (each a URL WHATWG parses). */
const spellingArb = fc
  .record({
    scheme: pick('https', 'http', 'HTTPS', 'Http'),
    host: pick('wallet.example', 'Wallet.EXAMPLE', 'w-1.example.', 'localhost', '127.0.0.1'),
    port: pick('', ':', ':443', ':80', ':8443', ':0443', ':00080'),
    segments: fc.array(
      pick('alice', 'Alice', '%61lice', '%7Euser', '%7e', '%7b', 'a%2fb', '.', '..', '%2E'),
      { minLength: 0, maxLength: 4 }
    ),
    more: pick('', '.%2e', '%2e%2E', '%zz', '~bob', "!$&'()*+,;=:@"),
    slashes: pick('', '/', '//')
  })
  .map((s) => `${s.scheme}://${s.host}${s.port}/${[...s.segments, s.more].join('/')}${s.slashes}`)

test('migration 008 stores each client address in the normaliser spelling, where SQL is sure of it', async () => {
  await applyMigrations(
    db,
    listMigrations().filter((m) => m.version <= 7)
  )
  const tenantId = await seedTenant(db)
  const spellings = [
    ...new Set([
      'https://wallet.example/pl%61in',
      'HTTP://wallet.example/plain',
      'https://wallet.example/plain/',
      'https://wallet.example/./plain',
      'https://wallet.example/plain',
      ...fc.sample(spellingArb, { numRuns: 400, seed: 8 })
    ])
  ]
  // Left as they are: hosts WHATWG rewrites in ways the migration does not repeat.
  const unsure = ['https://0x7F.1/alice/', 'https://Wället.example/alice/', 'https://[::1]/a/']
  const grantOf = new Map<string, string>()
  for (const client of [...spellings, ...unsure]) {
    const grantId = await seedGrant(db, tenantId, 'FINALIZED', 'ISSUED')
    await db.query('update grants set client = $2 where id = $1', [grantId, client])
    grantOf.set(grantId, client)
  }

  const applied = await migrate(db)
  assert.ok(applied.includes('008_client_wallet_address_normal_form'), applied.join(', '))

  const { rows } = await db.query<{ id: string; client: string }>('select id, client from grants')
  let rewritten = 0
  for (const { id, client } of rows) {
    const before = grantOf.get(id)!
    if (unsure.includes(before)) assert.equal(client, before)
    else {
      assert.equal(client, normalizeWalletAddress(before), before)
      if (client !== before) rewritten++
    }
  }
  assert.ok(rewritten > 300, `${rewritten} rewritten`)
  const plain = rows.filter((r) => /^[^:]+:\/\/wallet\.example\/plain$/.test(r.client))
  assert.equal(new Set(plain.map((r) => r.client)).size, 2) // http: and https:
  // The migration's function is gone with it.
  const { rows: functions } = await db.query(
    "select 1 from pg_proc where proname = 'opas_normal_wallet_address'"
  )
  assert.deepEqual(functions, [])
})
