import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startServerWithClient, type ServerWithClient } from '../helpers/server-with-client.js'
import type { TestServer } from '../helpers/test-server.js'
import { createGrantFlows, type GrantFlows, type IssuedToken } from './support/grant-flows.js'

/**
 * A grant's history as operators read it (grantOperations.read, the console's grant page),
 * written by the real flows: the interaction's finish (RFC 9635 §4.2.3) and the token's
 * rotation (§6.1), never with a token value or handle.
 */

let world: ServerWithClient
let server: TestServer
let flows: GrantFlows

before(async () => {
  world = await startServerWithClient()
  server = world.server
  flows = createGrantFlows(server, world.app, `${world.wallets.url}/alice`)
})
after(() => world.close())

/** A grant's history as the grant operations read it: every tenant's, or one tenant's. */
const history = async (grantId: string, tenantId?: string) =>
  (
    await server.services.grantOperations.read(
      {
        actor: { kind: 'cli', user: 'test', host: 'test' },
        scope: tenantId === undefined ? 'all' : { tenantId },
        log: server.services.logger
      },
      grantId
    )
  )?.history

async function finishedAt(interactionId: string): Promise<Date | null> {
  const { rows } = await server.services.db.query<{ at: Date | null }>(
    'select finished_at as at from interactions where id = $1',
    [interactionId]
  )
  return rows[0]!.at
}

/** The token of a continuation's 200 answer. */
function tokenOf(body: unknown): IssuedToken {
  const { access_token } = body as { access_token: IssuedToken }
  return { value: access_token.value, manage: access_token.manage }
}

describe('the finish records when the browser went back to the client', () => {
  test('accepted: set by the redirect, once; a replayed session cookie leaves it', async () => {
    const pending = await flows.requestInteractive()
    const started = await flows.startInteraction(pending.redirect)
    // Not yet: the account holder has not answered, and the browser is not sent back.
    await flows.finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(await finishedAt(started.id), null)
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'accept')).status, 202)
    const finish = await flows.finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(finish.status, 302, finish.text)
    assert.ok(new URL(finish.headers.get('location')!).searchParams.get('interact_ref'))
    const first = await finishedAt(started.id)
    assert.ok(first instanceof Date)
    const replay = await flows.finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(replay.headers.get('location'), finish.headers.get('location'))
    assert.deepEqual(await finishedAt(started.id), first)
  })

  test('rejected: set by the grant_rejected redirect', async () => {
    const pending = await flows.requestInteractive()
    const started = await flows.startInteraction(pending.redirect)
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'reject')).status, 202)
    const finish = await flows.finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(
      new URL(finish.headers.get('location')!).searchParams.get('result'),
      'grant_rejected'
    )
    assert.ok((await finishedAt(started.id)) instanceof Date)
  })

  test('a polling client (no finish URI): set by the 202 that sends the browser back', async () => {
    const pending = await flows.requestInteractive({ finish: false })
    const started = await flows.startInteraction(pending.redirect)
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'accept')).status, 202)
    const finish = await flows.finishInteraction(started.id, started.nonce, started.cookie)
    assert.equal(finish.status, 202, finish.text)
    assert.ok((await finishedAt(started.id)) instanceof Date)
  })

  test('without the session: not finished, not recorded', async () => {
    const pending = await flows.requestInteractive()
    const started = await flows.startInteraction(pending.redirect)
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'accept')).status, 202)
    assert.equal((await flows.finishInteraction(started.id, started.nonce)).status, 401)
    assert.equal(await finishedAt(started.id), null)
  })
})

describe('grantOperations.read: history', () => {
  test('an approved, issued, rotated grant: its interaction and its chain of tokens', async () => {
    const pending = await flows.requestInteractive()
    const approved = await flows.approve(pending)
    const continued = await flows.continueGrant(pending, { interact_ref: approved.interactRef })
    assert.equal(continued.status, 200, continued.text)
    const issued = tokenOf(continued.body)
    const rotated = await flows.rotate(issued)
    assert.equal(rotated.status, 200, rotated.text)
    const next = tokenOf(rotated.body)
    const last = await flows.rotate(next)
    assert.equal(last.status, 200, last.text)
    const newest = tokenOf(last.body)

    const found = await history(approved.grantId)
    assert.ok(found)
    assert.equal(found.interactions.length, 1)
    const [interaction] = found.interactions
    assert.equal(interaction!.id, approved.id)
    assert.equal(interaction!.state, 'APPROVED')
    assert.equal(interaction!.expired, false)
    assert.ok(interaction!.decidedAt && interaction!.finishedAt)
    assert.ok(interaction!.createdAt <= interaction!.decidedAt)
    assert.ok(interaction!.decidedAt <= interaction!.finishedAt)

    const [a, b, c] = found.tokens
    assert.equal(found.tokens.length, 3)
    assert.deepEqual(
      found.tokens.map((t) => [t.rotatedFrom, t.replacedBy]),
      [
        [null, b!.id],
        [a!.id, c!.id],
        [b!.id, null]
      ]
    )
    // Revoked by the rotation that created its successor, at that statement's moment.
    assert.deepEqual(a!.revokedAt, b!.createdAt)
    assert.deepEqual(b!.revokedAt, c!.createdAt)
    assert.equal(c!.revokedAt, null)

    // Nothing a client could use: no token value, hash or management URI.
    const json = JSON.stringify(found)
    for (const token of [issued, next, newest]) {
      const hash = createHash('sha256').update(token.value).digest()
      for (const secret of [
        token.value,
        token.manage.split('/').pop()!,
        hash.toString('hex'),
        hash.toString('base64')
      ]) {
        assert.ok(!json.includes(secret), `${secret} in ${json}`)
      }
    }
  })

  test("malformed or unknown ids, and another tenant's grant, are undefined", async () => {
    const { token } = await flows.requestNonInteractive()
    const grantId = (await flows.introspect(token.value)).grant!
    assert.ok(await history(grantId, server.tenantId))
    assert.equal(await history(grantId, '00000000-0000-4000-8000-000000000000'), undefined)
    assert.equal(await history('not-a-uuid'), undefined)
    assert.equal(await history('00000000-0000-4000-8000-000000000000'), undefined)
  })
})
