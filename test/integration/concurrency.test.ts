import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { TestResponse } from '../helpers/signed-request.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import {
  startWalletAddressServer,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'
import {
  assertGnapError,
  createGrantFlows,
  errorOf,
  type GrantFlows,
  type IssuedToken
} from './support/grant-flows.js'

/**
 * The atomicity promises, each exercised with Promise.all of real signed HTTP requests. Every
 * test has a timeout: Rafiki's rotation held two pool connections and deadlocked its pool at
 * about ten concurrent rotations (behaviour §12.18), and its continue minted a token per racer
 * (§12.19).
 */

const N = 20
const ROUNDS = 10
/** Racers of each kind in the mixed races. */
const K = 4
const opts = { timeout: 60_000 }

let server: TestServer
let wallets: WalletAddressServer
let flows: GrantFlows

before(async () => {
  wallets = await startWalletAddressServer()
  server = await startTestServer({ WAIT_SECONDS: '0' })
  const client = wallets.addClient('racer', { authServer: server.grantUrl })
  flows = createGrantFlows(server, client, `${wallets.url}/alice`)
})
after(async () => {
  await server.close()
  await wallets.close()
})

/**
 * `k` calls of `a` and `k` of `b`, fired together and interleaved (the order flips with the
 * round); answered as [answers of a, answers of b].
 */
async function race(
  k: number,
  a: () => Promise<TestResponse>,
  b: () => Promise<TestResponse>,
  round: number
): Promise<[TestResponse[], TestResponse[]]> {
  const isA = (i: number) => i % 2 === round % 2
  const all = await Promise.all(Array.from({ length: 2 * k }, (_, i) => (isA(i) ? a() : b())))
  return [all.filter((_, i) => isA(i)), all.filter((_, i) => !isA(i))]
}

const later = <T>(ms: number, fn: () => Promise<T>) =>
  new Promise<T>((resolve, reject) => setTimeout(() => fn().then(resolve, reject), ms))

const times = <T>(n: number, fn: (i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => fn(i)))

/**
 * A rotation that lost to another rotation, a revocation or a cancel: its token was dead when
 * it was looked up (401) or when the rotation statement ran (404), nothing else.
 */
const ROTATION_LOST = [
  '401 invalid_client: invalid access token',
  '404 invalid_rotation: invalid access token'
]
const outcomeOf = (res: TestResponse) =>
  res.status < 300
    ? String(res.status)
    : `${res.status} ${errorOf(res).code}: ${errorOf(res).description}`

function assertRotationLost(res: TestResponse): void {
  assert.ok(ROTATION_LOST.includes(outcomeOf(res)), `unexpected refusal ${res.status}: ${res.text}`)
}

function assertNo5xx(answers: TestResponse[]): void {
  for (const res of answers) assert.ok(res.status < 500, `server error ${res.status}: ${res.text}`)
}

const accessTokenOf = (res: TestResponse) =>
  (res.body as { access_token?: IssuedToken }).access_token

/** The only answer with status 200; asserts there is exactly one. */
function soleWinner(answers: TestResponse[]): TestResponse {
  const winners = answers.filter((r) => r.status === 200)
  assert.equal(
    winners.length,
    1,
    `expected exactly one 200, got ${answers.map((r) => r.status).join(',')}`
  )
  return winners[0]!
}

async function grantIdOfToken(token: IssuedToken): Promise<string> {
  const info = await flows.introspect(token.value)
  assert.equal(info.active, true)
  return info.grant!
}

describe('token rotation', () => {
  test(
    `${N} concurrent rotations of one token: one 200, the rest refused, one live token`,
    opts,
    async () => {
      const { token } = await flows.requestNonInteractive()
      const grantId = await grantIdOfToken(token)
      const answers = await times(N, () => flows.rotate(token))
      assertNo5xx(answers)
      const winner = soleWinner(answers)
      for (const res of answers.filter((r) => r !== winner)) assertRotationLost(res)
      assert.equal(await flows.liveTokens(grantId), 1)
      assert.equal(await flows.allTokens(grantId), 2, 'the losers inserted nothing')
      const next = accessTokenOf(winner)!
      assert.notEqual(next.value, token.value)
      assert.equal((await flows.introspect(next.value)).active, true)
      assert.equal((await flows.introspect(token.value)).active, false)
      // The winner's token is the one that can be managed now.
      assert.equal((await flows.rotate(next)).status, 200)
    }
  )

  test(
    `${N} concurrent rotations of ${N} different tokens all succeed (no pool starvation)`,
    opts,
    async () => {
      const tokens = await times(N, async () => (await flows.requestNonInteractive()).token)
      const answers = await times(N, (i) => flows.rotate(tokens[i]!))
      assertNo5xx(answers)
      assert.deepEqual(
        answers.map((r) => r.status),
        answers.map(() => 200)
      )
      for (const res of answers) {
        assert.equal((await flows.introspect(accessTokenOf(res)!.value)).active, true)
      }
    }
  )
})

describe('continuation', () => {
  test(`${N} concurrent continuations with one interact_ref: exactly one token`, opts, async () => {
    const pending = await flows.requestInteractive()
    const { interactRef, grantId } = await flows.approve(pending)
    const answers = await times(N, () =>
      flows.continueGrant(pending, { interact_ref: interactRef })
    )
    assertNo5xx(answers)
    const winner = soleWinner(answers)
    const token = accessTokenOf(winner)
    assert.ok(token, 'the winner gets the access token')
    for (const res of answers.filter((r) => r !== winner)) {
      assertGnapError(res, 401, 'request_denied', 'grant already continued: token issued')
    }
    assert.equal(await flows.allTokens(grantId), 1)
    assert.equal(await flows.liveTokens(grantId), 1)
    assert.equal((await flows.introspect(token.value)).active, true)
  })

  test(`${N} concurrent polls of an approved polling grant: exactly one token`, opts, async () => {
    const pending = await flows.requestInteractive({ finish: false })
    const started = await flows.startInteraction(pending.redirect)
    const grantId = await flows.grantIdOf(started)
    // Approved on the back channel: the browser never has to come back for a polling client.
    assert.equal((await flows.idpChoose(started.id, started.nonce, 'accept')).status, 202)
    const answers = await times(N, () => flows.continueGrant(pending))
    assertNo5xx(answers)
    const winner = soleWinner(answers)
    const token = accessTokenOf(winner)
    assert.ok(token, 'the winner gets the access token')
    for (const res of answers.filter((r) => r !== winner)) {
      assertGnapError(res, 401, 'request_denied', 'grant cannot be continued')
    }
    assert.equal(await flows.allTokens(grantId), 1)
    assert.equal((await flows.introspect(token.value)).active, true)
  })

  test(
    `a cancel racing a continuation (${2 * ROUNDS} rounds): the cancel always wins in the end`,
    opts,
    async () => {
      for (let round = 0; round < 2 * ROUNDS; round++) {
        const pending = await flows.requestInteractive()
        const { interactRef, grantId } = await flows.approve(pending)
        const cont = () => flows.continueGrant(pending, { interact_ref: interactRef })
        // The cancel is sent 0-4 ms after the continuation, so over the rounds it lands before,
        // inside and after the continuation's transaction.
        const [continued, cancelled] = await Promise.all([
          cont(),
          later(round % 5, () => flows.cancelGrant(pending))
        ])
        assertNo5xx([cancelled, continued])
        // Nothing but a cancel revokes a grant, so the cancel cannot lose.
        assert.equal(cancelled.status, 204, cancelled.text)
        if (continued.status === 200) {
          // The continuation came first; the cancel then revoked the token it issued.
          const token = accessTokenOf(continued)
          assert.ok(token)
          assert.equal((await flows.introspect(token.value)).active, false)
        } else {
          assertGnapError(continued, 401, 'invalid_continuation', 'invalid grant')
        }
        assert.equal(await flows.liveTokens(grantId), 0, `round ${round}: no live token remains`)
        assertGnapError(await cont(), 401, 'invalid_continuation', 'invalid grant')
      }
    }
  )

  test(
    `cancels racing rotations (${ROUNDS} rounds): no token of the grant survives`,
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { token, grant } = await flows.requestNonInteractive()
        const grantId = await grantIdOfToken(token)
        const [cancels, rotations] = await race(
          K,
          () => flows.cancelGrant(grant),
          () => flows.rotate(token),
          round
        )
        assertNo5xx([...cancels, ...rotations])
        assert.equal(cancels.filter((r) => r.status === 204).length, 1, `round ${round}`)
        for (const res of cancels.filter((r) => r.status !== 204)) {
          assertGnapError(res, 401, 'invalid_continuation', 'invalid grant')
        }
        const rotated = rotations.filter((r) => r.status === 200)
        assert.ok(rotated.length <= 1, `round ${round}: ${rotated.length} rotations succeeded`)
        for (const res of rotations.filter((r) => r.status !== 200)) assertRotationLost(res)
        if (rotated[0]) {
          const next = accessTokenOf(rotated[0])!
          assert.equal((await flows.introspect(next.value)).active, false)
          // A token of a cancelled grant cannot be managed any more.
          assertGnapError(await flows.rotate(next), 401, 'invalid_client', 'invalid access token')
        }
        assert.equal((await flows.introspect(token.value)).active, false)
        assert.equal(await flows.liveTokens(grantId), 0, `round ${round}: no live token remains`)
      }
    }
  )
})

describe('IdP decision', () => {
  test(
    `accept racing reject (${ROUNDS} rounds): one decision, the grant follows it`,
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const pending = await flows.requestInteractive()
        const started = await flows.startInteraction(pending.redirect)
        const choose = (choice: 'accept' | 'reject') =>
          flows.idpChoose(started.id, started.nonce, choice)
        const [accepted, rejected] =
          round % 2 === 0
            ? await Promise.all([choose('accept'), choose('reject')])
            : (await Promise.all([choose('reject'), choose('accept')])).reverse()
        assertNo5xx([accepted!, rejected!])
        const acceptWon = accepted!.status === 202
        assert.equal(
          [accepted!.status, rejected!.status].filter((s) => s === 202).length,
          1,
          `round ${round}: accept ${accepted!.status}, reject ${rejected!.status}`
        )

        const details = await flows.idpDetails(started.id, started.nonce)
        const finished = await flows.finishInteraction(started.id, started.nonce, started.cookie)
        assert.equal(finished.status, 302)
        const back = new URL(finished.headers.get('location')!)
        if (acceptWon) {
          assertGnapError(rejected!, 400, 'invalid_interaction', 'invalid interaction')
          assert.equal((details.body as { state: string }).state, 'APPROVED')
          const interactRef = back.searchParams.get('interact_ref')
          assert.ok(interactRef, `round ${round}: the finish redirect carries interact_ref`)
          const cont = await flows.continueGrant(pending, { interact_ref: interactRef })
          assert.equal(cont.status, 200, cont.text)
          assert.equal((await flows.introspect(accessTokenOf(cont)!.value)).active, true)
        } else {
          // The reject finalised the grant before the accept was recorded.
          assertGnapError(accepted!, 401, 'user_denied', 'user denied interaction')
          assert.equal((details.body as { state: string }).state, 'DENIED')
          assert.equal(back.searchParams.get('result'), 'grant_rejected')
          assert.equal(back.searchParams.get('interact_ref'), null)
          const interactRef = await flows.interactRefOf(started.id)
          assertGnapError(
            await flows.continueGrant(pending, { interact_ref: interactRef }),
            404,
            'invalid_continuation',
            'grant not found'
          )
        }
      }
    }
  )
})

describe('revocation', () => {
  test(`${N} concurrent revocations of one token: no error, the token is dead`, opts, async () => {
    const { token } = await flows.requestNonInteractive()
    const grantId = await grantIdOfToken(token)
    const answers = await times(N, () => flows.revoke(token))
    assertNo5xx(answers)
    assert.ok(
      answers.some((r) => r.status === 204),
      'at least one revocation is answered 204'
    )
    for (const res of answers.filter((r) => r.status !== 204)) {
      assertGnapError(res, 401, 'invalid_client', 'invalid access token')
    }
    assert.equal(await flows.liveTokens(grantId), 0)
    assert.equal((await flows.introspect(token.value)).active, false)
  })

  test(
    'a revocation answered before the rotation starts: the rotation is refused',
    opts,
    async () => {
      const { token } = await flows.requestNonInteractive()
      const grantId = await grantIdOfToken(token)
      assert.equal((await flows.revoke(token)).status, 204)
      assertGnapError(await flows.rotate(token), 401, 'invalid_client', 'invalid access token')
      assert.equal(await flows.liveTokens(grantId), 0)
    }
  )

  test(
    `a rotation racing a revocation (${ROUNDS} rounds): the old token always dies`,
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { token } = await flows.requestNonInteractive()
        const grantId = await grantIdOfToken(token)
        const [rotated, revoked] =
          round % 2 === 0
            ? await Promise.all([flows.rotate(token), flows.revoke(token)])
            : (await Promise.all([flows.revoke(token), flows.rotate(token)])).reverse()
        assertNo5xx([rotated!, revoked!])
        const revokeOutcome = outcomeOf(revoked!)
        const rotateOutcome = outcomeOf(rotated!)
        assert.ok(
          ['204', '401 invalid_client: invalid access token'].includes(revokeOutcome),
          revokeOutcome
        )
        assert.ok(['200', ...ROTATION_LOST].includes(rotateOutcome), rotateOutcome)
        // One of the two killed the old token, whatever the interleaving.
        assert.ok(
          rotated!.status === 200 || revoked!.status === 204,
          `${rotateOutcome} / ${revokeOutcome}`
        )
        assert.equal((await flows.introspect(token.value)).active, false)
        if (rotated!.status === 200) {
          assert.equal(await flows.liveTokens(grantId), 1)
          assert.equal((await flows.introspect(accessTokenOf(rotated!)!.value)).active, true)
        } else {
          assert.equal(await flows.liveTokens(grantId), 0)
        }
      }
    }
  )
})
