import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { seedGrant, seedTenant, useTestDb } from '../../test/helpers/store-test.js'
import { GnapError } from '../gnap/gnap-error.js'
import type { Db } from '../storage/db.js'
import { createTokenService, type TokenService } from './token-service.js'

// Token management of a token this process issued or rotated (issue 29): one round trip, not
// two, and never an answer the database would not have given.
describe('token service: tokens it issued or rotated', () => {
  const store = useTestDb(async (db) => {
    const tenantId = await seedTenant(db)
    return { tenantId }
  })
  const from = { requestId: 'test', remoteAddress: '127.0.0.1' }
  const none = { kind: 'none' } as const
  const client = { kind: 'walletAddress', walletAddress: 'https://w.example/c' } as const

  /** A service (a process) over the suite's database, counting the statements it sends. */
  function opasProcess(): { tokens: TokenService; statements: () => number } {
    let statements = 0
    const db = store.db
    const counting: Db = {
      ...db,
      query: (sql, params) => {
        statements++
        return db.query(sql, params)
      }
    }
    const tokens = createTokenService({
      db: counting,
      config: { authServerUrl: 'http://as.example', accessTokenExpirySeconds: 600 },
      randomBytes,
      newId: randomUUID
    })
    return { tokens, statements: () => statements }
  }

  /** A token of a new issued grant, stored (and remembered by `by`, as its issuing does). */
  async function issued(by: TokenService, remember = true) {
    const { tenantId } = store.seeded
    const grantId = await seedGrant(store.db, tenantId, 'FINALIZED', 'ISSUED')
    const { value, ...token } = by.newToken()
    await by.insert(store.db, grantId, token)
    if (remember) by.remember({ ...token, grantId, tenantId, client })
    return { value, managementId: token.managementId }
  }

  const refusal = (err: unknown) =>
    err instanceof GnapError ? `${err.status} ${err.code}` : `not a GNAP error: ${String(err)}`

  test('rotating a token it issued, then the rotated one, sends one statement each', async () => {
    const { tokens, statements } = opasProcess()
    let token = await issued(tokens)
    for (let i = 0; i < 3; i++) {
      const before = statements()
      const managed = await tokens.findManaged(token.managementId, token.value)
      const res = await tokens.rotate(managed, none, from)
      assert.equal(statements() - before, 1)
      assert.ok('access_token' in res)
      const manage = new URL(res.access_token.manage)
      token = { value: res.access_token.value, managementId: manage.pathname.split('/').pop()! }
    }
  })

  test('one it did not issue is read first: two statements', async () => {
    const { tokens, statements } = opasProcess()
    const token = await issued(tokens, false)
    const before = statements()
    await tokens.rotate(await tokens.findManaged(token.managementId, token.value), none, from)
    assert.equal(statements() - before, 2)
  })

  test('its value must still match: a wrong one is refused as without the entry', async () => {
    const { tokens } = opasProcess()
    const token = await issued(tokens)
    await assert.rejects(
      tokens.findManaged(token.managementId, 'not-the-value'),
      (err) => refusal(err) === '401 invalid_client'
    )
  })

  test('rotated or revoked by another process: refused as that process would refuse it', async () => {
    const a = opasProcess()
    const b = opasProcess()
    for (const change of ['rotate', 'revoke'] as const) {
      const token = await issued(a.tokens)
      const atB = await b.tokens.findManaged(token.managementId, token.value)
      if (change === 'rotate') await b.tokens.rotate(atB, none, from)
      else await b.tokens.revoke(atB, from)
      // What the process that never knew the token answers now:
      await assert.rejects(
        b.tokens.findManaged(token.managementId, token.value),
        (err) => refusal(err) === '401 invalid_client'
      )
      // And the one that did, whose entry is stale, for a rotation and for a revocation:
      const stale = await a.tokens.findManaged(token.managementId, token.value)
      assert.equal(stale.known, true)
      await assert.rejects(
        a.tokens.rotate(stale, none, from),
        (err) => refusal(err) === '401 invalid_client',
        `rotation after another process's ${change}`
      )
      const again = await issued(a.tokens)
      const atB2 = await b.tokens.findManaged(again.managementId, again.value)
      if (change === 'rotate') await b.tokens.rotate(atB2, none, from)
      else await b.tokens.revoke(atB2, from)
      await assert.rejects(
        a.tokens.revoke(await a.tokens.findManaged(again.managementId, again.value), from),
        (err) => refusal(err) === '401 invalid_client',
        `revocation after another process's ${change}`
      )
    }
  })

  test('a token rotated here is forgotten: its old value is read, and refused', async () => {
    const { tokens, statements } = opasProcess()
    const token = await issued(tokens)
    await tokens.rotate(await tokens.findManaged(token.managementId, token.value), none, from)
    const before = statements()
    await assert.rejects(
      tokens.findManaged(token.managementId, token.value),
      (err) => refusal(err) === '401 invalid_client'
    )
    assert.equal(statements() - before, 1)
  })
})
