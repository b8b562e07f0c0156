import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { assertGnapError } from '../helpers/gnap-assertions.js'
import { postgresOnly } from '../helpers/requirements.js'
import { postJson, send, signedRequest, type TestResponse } from '../helpers/signed-request.js'
import { createTestDatabase } from '../helpers/test-server.js'
import {
  outcome,
  startReplica,
  stopReplica,
  untilReady,
  via,
  type Replica
} from '../helpers/replica-process.js'
import {
  interactiveGrantBody,
  issuedGrantOf,
  nonInteractiveGrantBody,
  pendingGrantOf
} from '../integration/support/grant-flows.js'
import {
  startWalletAddressServer,
  type TestClient,
  type WalletAddressServer
} from '../helpers/wallet-address-server.js'

/**
 * Two `opas start` processes on one PostgreSQL database, as two replicas behind one load
 * balancer: the races of concurrency.test.ts, with the contenders split over both. Only the
 * database can serialise them here (no shared memory), so each race must end with exactly one
 * winner, no deadlock and no 5xx.
 */

const skip = postgresOnly('an embedded database belongs to one process')

/** Contenders of the single-kind races, and of each kind in the mixed ones. */
const N = 16
const K = 4
const ROUNDS = 10
/** A race still unanswered after this long is a deadlock (a round takes well under a second). */
const RACE_DEADLINE_MS = 15_000
const opts = { timeout: 60_000 }

/**
 * The public URL both processes answer for. It resolves nowhere, so no request reaches opas
 * unless it names the process it goes to, as the load balancer would.
 */
const PUBLIC_URL = 'http://opas.invalid'
const IDP_SECRET = 'two-processes-idp-secret'
const REPLAYED = 'invalid signature: this signature was already used'
const INVALID_TOKEN = 'invalid access token'

interface Pending {
  continueUri: string
  continueToken: string
  redirect: string
}

interface Token {
  value: string
  manage: string
}

interface Started {
  id: string
  nonce: string
  cookie: string
}

describe('two opas processes on one PostgreSQL database', { skip }, () => {
  const tenant = randomUUID()
  const grantUrl = `${PUBLIC_URL}/${tenant}`
  let procs: [Replica, Replica]
  let database: { url: string; drop(): Promise<void> }
  let pool: pg.Pool
  let wallets: WalletAddressServer
  let client: TestClient
  let account: string

  const logs = () => procs.map((p) => `--- opas ${p.name}:\n${p.output()}`).join('\n')

  before(async () => {
    database = (await createTestDatabase())!
    pool = new pg.Pool({ connectionString: database.url, max: 2 })
    wallets = await startWalletAddressServer()
    client = wallets.addClient('racer', { authServer: grantUrl })
    account = `${wallets.url}/alice`
    // Started together: both migrate the fresh database at once (under the advisory lock).
    const settings = {
      databaseUrl: database.url,
      publicUrl: PUBLIC_URL,
      tenant,
      idpSecret: IDP_SECRET
    }
    procs = [await startReplica('A', settings), await startReplica('B', settings)]
    await Promise.all(procs.map(untilReady))
  })

  after(async () => {
    if (procs) await Promise.all(procs.map(stopReplica))
    await pool?.end()
    await wallets?.close()
    await database?.drop()
  })

  const signed = (
    url: string,
    opas: Replica,
    options: { method?: string; body?: unknown; token?: string }
  ) => signedRequest(url, { client, ...options, sendTo: via(url, opas, PUBLIC_URL) })

  /** Every answer is 2xx, or 4xx with exactly a GNAP error body: never 5xx, never plain text. */
  function assertWellFormed(answers: TestResponse[]): void {
    for (const res of answers) {
      const context = `${res.status} ${res.text}`
      assert.ok(res.status < 500, `server error: ${context}`)
      if (res.status < 400) continue
      assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/, context)
      const body = res.body as { error?: { code?: unknown; description?: unknown } }
      assert.deepEqual(Object.keys(body ?? {}), ['error'], context)
      assert.deepEqual(Object.keys(body.error ?? {}).sort(), ['code', 'description'], context)
      assert.equal(typeof body.error!.code, 'string', context)
      assert.equal(typeof body.error!.description, 'string', context)
    }
  }

  /** The losers lost the race, not the replay check (which would prove nothing). */
  function assertLost(losers: TestResponse[], allowed: string[]): void {
    for (const res of losers) {
      const got = outcome(res)
      assert.ok(!got.endsWith(REPLAYED), `refused as a replay, not by the race: ${got}`)
      assert.ok(allowed.includes(got), `unexpected refusal ${got}`)
    }
  }

  /** Outcome counts of one test, reported as a diagnostic: they show the races were real. */
  function tally() {
    const counts = new Map<string, number>()
    return {
      add: (answers: TestResponse[]) => {
        for (const label of answers.map(outcome)) counts.set(label, (counts.get(label) ?? 0) + 1)
      },
      toString: () => [...counts].map(([label, n]) => `${n} × ${label}`).join('; ')
    }
  }

  /** `work` answered within the deadline; a deadlock fails the test instead of hanging it. */
  async function within<T>(what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: no answer within ${RACE_DEADLINE_MS} ms\n${logs()}`)),
        RACE_DEADLINE_MS
      )
    })
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  const processOf = (i: number) => procs[i % 2]!

  /** `n` calls fired together, alternating between the processes (first one flips by round). */
  async function fire(
    round: number,
    n: number,
    call: (opas: Replica) => Promise<TestResponse>
  ): Promise<TestResponse[]> {
    const answers = await within(
      `round ${round}`,
      Promise.all(Array.from({ length: n }, (_, i) => call(processOf(i + round))))
    )
    assertWellFormed(answers)
    return answers
  }

  /**
   * `k` calls of `a` and `k` of `b` fired together, each kind sent to both processes, the
   * firing order flipping by round; answered as [answers of a, answers of b].
   */
  async function race(
    round: number,
    k: number,
    a: (opas: Replica) => Promise<TestResponse>,
    b: (opas: Replica) => Promise<TestResponse>
  ): Promise<[TestResponse[], TestResponse[]]> {
    const isA = (i: number) => Math.floor(i / 2) % 2 === round % 2
    const all = await within(
      `round ${round}`,
      Promise.all(Array.from({ length: 2 * k }, (_, i) => (isA(i) ? a : b)(processOf(i + round))))
    )
    assertWellFormed(all)
    return [all.filter((_, i) => isA(i)), all.filter((_, i) => !isA(i))]
  }

  /** Which process answered `answers[i]` of {@link fire}. */
  const answeredBy = (answers: TestResponse[], res: TestResponse, round: number) =>
    processOf(answers.indexOf(res) + round).name

  function soleWinner(answers: TestResponse[], status = 200): TestResponse {
    const winners = answers.filter((r) => r.status === status)
    assert.equal(winners.length, 1, `one ${status}, got ${answers.map((r) => r.status).join(',')}`)
    return winners[0]!
  }

  const accessTokenOf = (res: TestResponse) => (res.body as { access_token?: Token }).access_token

  // --- the flows, each step sent to the process the caller names ---

  async function requestNonInteractive(opas: Replica): Promise<{ token: Token; grant: Pending }> {
    return issuedGrantOf(await signed(grantUrl, opas, { body: nonInteractiveGrantBody(client) }))
  }

  async function requestInteractive(opas: Replica): Promise<Pending> {
    const body = interactiveGrantBody(client, account)
    return pendingGrantOf(await signed(grantUrl, opas, { body }))
  }

  /** The browser opens `interact.redirect` on `opas`: 302 to the IdP with the session cookie. */
  async function startInteraction(pending: Pending, opas: Replica): Promise<Started> {
    const res = await send(via(pending.redirect, opas, PUBLIC_URL), {})
    assert.equal(res.status, 302, res.text)
    const location = new URL(res.headers.get('location')!)
    const cookie = res.headers.get('set-cookie')
    assert.ok(cookie, 'interaction start sets the session cookie')
    return {
      id: location.searchParams.get('interactId')!,
      nonce: location.searchParams.get('nonce')!,
      cookie: cookie.split(';')[0]!
    }
  }

  const idpHeaders = { 'x-idp-secret': IDP_SECRET, accept: 'application/json' }

  const idpChoose = (started: Started, choice: 'accept' | 'reject', opas: Replica) =>
    send(`${opas.interaction}/grant/${started.id}/${started.nonce}/${choice}`, {
      method: 'POST',
      headers: { ...idpHeaders, 'content-type': 'application/json' },
      body: '{}'
    })

  async function idpDetails(
    started: Started,
    opas: Replica
  ): Promise<{ grantId: string; state: string }> {
    const res = await send(`${opas.interaction}/grant/${started.id}/${started.nonce}`, {
      headers: idpHeaders
    })
    assert.equal(res.status, 200, res.text)
    return res.body as { grantId: string; state: string }
  }

  /** The browser comes back on `opas`: where the finish redirect sends it. */
  async function finishInteraction(started: Started, opas: Replica): Promise<URL> {
    const res = await send(`${opas.auth}/interact/${started.id}/${started.nonce}/finish`, {
      headers: { cookie: started.cookie }
    })
    assert.equal(res.status, 302, res.text)
    return new URL(res.headers.get('location')!)
  }

  const continueGrant = (pending: Pending, opas: Replica, body: unknown = {}) =>
    signed(pending.continueUri, opas, { token: pending.continueToken, body })

  const cancelGrant = (pending: Pending, opas: Replica) =>
    signed(pending.continueUri, opas, { token: pending.continueToken, method: 'DELETE' })

  const rotate = (token: Token, opas: Replica) =>
    signed(token.manage, opas, { token: token.value, method: 'POST' })

  /** Introspected on both processes, which must agree. */
  async function introspect(value: string): Promise<{ active: boolean; grant?: string }> {
    const answers = await Promise.all(
      procs.map((p) => postJson(`${p.introspection}/`, { access_token: value }))
    )
    for (const res of answers) assert.equal(res.status, 200, res.text)
    const [a, b] = answers.map((r) => r.body as { active: boolean; grant?: string })
    assert.deepEqual(a, b, 'both processes answer alike')
    return a!
  }

  async function tokenCounts(grantId: string): Promise<{ live: number; all: number }> {
    const { rows } = await pool.query<{ live: number; all: number }>(
      `select (count(*) filter (where revoked_at is null))::int as live, count(*)::int as all
       from access_tokens where grant_id = $1`,
      [grantId]
    )
    return rows[0]!
  }

  async function interactRefOf(interactionId: string): Promise<string> {
    const { rows } = await pool.query<{ ref: string }>(
      'select ref from interactions where id = $1',
      [interactionId]
    )
    return rows[0]!.ref
  }

  // --- the races ---

  test(
    `${N} rotations of one token over both processes (${ROUNDS} rounds): one winner, one live token`,
    opts,
    async (t) => {
      const seen = tally()
      const winners = { A: 0, B: 0 }
      // Losers on the other process than the winner's that found the token live, then lost in
      // the rotation statement (404): their requests overlapped the winner's at the database.
      let overlapped = 0
      for (let round = 0; round < ROUNDS; round++) {
        const { token } = await requestNonInteractive(processOf(round))
        const { grant: grantId } = await introspect(token.value)
        assert.ok(grantId)
        const answers = await fire(round, N, (p) => rotate(token, p))
        seen.add(answers)
        const winner = soleWinner(answers)
        const winnerProcess = answeredBy(answers, winner, round)
        winners[winnerProcess as 'A' | 'B']++
        overlapped += answers.filter(
          (r) => r.status === 404 && answeredBy(answers, r, round) !== winnerProcess
        ).length
        assertLost(
          answers.filter((r) => r !== winner),
          [`401 invalid_client: ${INVALID_TOKEN}`, `404 invalid_rotation: ${INVALID_TOKEN}`]
        )
        assert.deepEqual(await tokenCounts(grantId), { live: 1, all: 2 }, `round ${round}`)
        const next = accessTokenOf(winner)!
        assert.equal((await introspect(token.value)).active, false)
        assert.equal((await introspect(next.value)).active, true)
        // The winner's token is managed on the other process too.
        assert.equal((await rotate(next, processOf(round + 1))).status, 200)
      }
      t.diagnostic(
        `${seen}; won on A ${winners.A}, on B ${winners.B}; ${overlapped} losers overlapped across processes`
      )
      assert.ok(overlapped > 0, `no rotation on one process overlapped one on the other: ${seen}`)
    }
  )

  test(
    `${N} continuations with one interact_ref over both processes (${ROUNDS} rounds): one token`,
    opts,
    async (t) => {
      const seen = tally()
      const winners = { A: 0, B: 0 }
      for (let round = 0; round < ROUNDS; round++) {
        const pending = await requestInteractive(processOf(round))
        // Started on one process, decided and finished on the other: the session cookie and the
        // IdP secret are the shared ones.
        const started = await startInteraction(pending, processOf(round))
        const { grantId } = await idpDetails(started, processOf(round + 1))
        assert.equal((await idpChoose(started, 'accept', processOf(round + 1))).status, 202)
        const back = await finishInteraction(started, processOf(round + 1))
        const interactRef = back.searchParams.get('interact_ref')
        assert.ok(interactRef, `round ${round}: the finish redirect carries interact_ref`)

        const answers = await fire(round, N, (p) =>
          continueGrant(pending, p, { interact_ref: interactRef })
        )
        seen.add(answers)
        const winner = soleWinner(answers)
        winners[answeredBy(answers, winner, round) as 'A' | 'B']++
        const token = accessTokenOf(winner)
        assert.ok(token, 'the winner gets the access token')
        assertLost(
          answers.filter((r) => r !== winner),
          ['401 request_denied: grant already continued: token issued']
        )
        assert.deepEqual(await tokenCounts(grantId), { live: 1, all: 1 }, `round ${round}`)
        assert.equal((await introspect(token.value)).active, true)
      }
      t.diagnostic(`${seen}; won on A ${winners.A}, on B ${winners.B}`)
    }
  )

  test(
    `IdP accepts racing rejects on both interaction listeners (${ROUNDS} rounds): one decision, the grant follows it`,
    opts,
    async (t) => {
      const wins = { accept: 0, reject: 0 }
      for (let round = 0; round < ROUNDS; round++) {
        const pending = await requestInteractive(processOf(round))
        const started = await startInteraction(pending, processOf(round))
        // Two of each, one per process.
        const [accepts, rejects] = await race(
          round,
          2,
          (p) => idpChoose(started, 'accept', p),
          (p) => idpChoose(started, 'reject', p)
        )
        const winner = soleWinner([...accepts, ...rejects], 202)
        const acceptWon = accepts.includes(winner)
        wins[acceptWon ? 'accept' : 'reject']++
        const losers = [...accepts, ...rejects].filter((r) => r !== winner)
        // A decision after an accept is invalid; any decision after a reject is told it was denied.
        assertLost(losers, [
          acceptWon
            ? '400 invalid_interaction: invalid interaction'
            : '401 user_denied: user denied interaction'
        ])

        for (const p of procs) {
          assert.equal((await idpDetails(started, p)).state, acceptWon ? 'APPROVED' : 'DENIED')
        }
        const back = await finishInteraction(started, processOf(round + 1))
        if (acceptWon) {
          const interactRef = back.searchParams.get('interact_ref')
          assert.ok(interactRef, `round ${round}: the finish redirect carries interact_ref`)
          const cont = await continueGrant(pending, processOf(round), { interact_ref: interactRef })
          assert.equal(cont.status, 200, cont.text)
          assert.equal((await introspect(accessTokenOf(cont)!.value)).active, true)
        } else {
          assert.equal(back.searchParams.get('result'), 'grant_rejected')
          assert.equal(back.searchParams.get('interact_ref'), null)
          assertGnapError(
            await continueGrant(pending, processOf(round), {
              interact_ref: await interactRefOf(started.id)
            }),
            404,
            'invalid_continuation',
            'grant not found'
          )
        }
      }
      // Which side wins is up to the scheduler; both are correct outcomes.
      t.diagnostic(`accept won ${wins.accept}, reject won ${wins.reject}`)
    }
  )

  test(
    `cancels racing rotations over both processes (${ROUNDS} rounds): no token of the grant survives`,
    opts,
    async (t) => {
      const seen = tally()
      for (let round = 0; round < ROUNDS; round++) {
        const { token, grant } = await requestNonInteractive(processOf(round))
        const { grant: grantId } = await introspect(token.value)
        assert.ok(grantId)
        const [cancels, rotations] = await race(
          round,
          K,
          (p) => cancelGrant(grant, p),
          (p) => rotate(token, p)
        )
        seen.add(rotations)
        soleWinner(cancels, 204)
        assertLost(
          cancels.filter((r) => r.status !== 204),
          ['401 invalid_continuation: invalid grant']
        )
        const rotated = rotations.filter((r) => r.status === 200)
        assert.ok(rotated.length <= 1, `round ${round}: ${rotated.length} rotations succeeded`)
        assertLost(
          rotations.filter((r) => r.status !== 200),
          [`401 invalid_client: ${INVALID_TOKEN}`, `404 invalid_rotation: ${INVALID_TOKEN}`]
        )
        assert.equal((await tokenCounts(grantId)).live, 0, `round ${round}: no live token`)
        assert.equal((await introspect(token.value)).active, false)
        if (rotated[0]) {
          const next = accessTokenOf(rotated[0])!
          assert.equal((await introspect(next.value)).active, false)
          // A token of a cancelled grant cannot be managed on either process.
          for (const p of procs) {
            assertGnapError(await rotate(next, p), 401, 'invalid_client', INVALID_TOKEN)
          }
        }
      }
      t.diagnostic(`rotations: ${seen}`)
    }
  )

  test('neither process logged an error', () => {
    // pino levels: 50 error, 60 fatal. An unhandled error is answered 500 and logged.
    for (const p of procs) {
      assert.doesNotMatch(p.output(), /"level":(50|60)/, `opas ${p.name}:\n${p.output()}`)
      assert.equal(p.child.exitCode, null, `opas ${p.name} is still running`)
    }
  })
})
