import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { pgbouncerPath, startPgbouncer, type Pgbouncer } from '../helpers/pgbouncer.js'
import { PGBOUNCER_MISSING, postgresOnly } from '../helpers/requirements.js'
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
 * Two `opas start` processes on one database through PgBouncer in transaction mode, with fewer
 * server connections than the processes hold client connections, so that every transaction may
 * land on a connection the other process used last. What failed there with named prepared
 * statements (500 `prepared statement "opas_4" already exists`): identical grant requests at
 * once, concurrent rotations and continuations, a finish link opened again. With
 * DATABASE_PREPARED_STATEMENTS=false each must end as it does on a direct connection, with no
 * 5xx and nothing logged as an error.
 */

const binary = pgbouncerPath()
const skip =
  postgresOnly('PgBouncer stands in front of the PostgreSQL server') ||
  (binary === undefined && PGBOUNCER_MISSING)

/** PgBouncer's server connections per database: fewer than either process's pool (10). */
const POOL_SIZE = 3
const N = 16
const ROUNDS = 4
const opts = { timeout: 90_000 }

const PUBLIC_URL = 'http://opas.invalid'
const IDP_SECRET = 'transaction-pooler-idp-secret'
const INVALID_TOKEN = 'invalid access token'

interface Token {
  value: string
  manage: string
}

describe('two opas processes through PgBouncer in transaction mode', { skip }, () => {
  const tenant = randomUUID()
  const grantUrl = `${PUBLIC_URL}/${tenant}`
  let database: { url: string; drop(): Promise<void> } | undefined
  let bouncer: Pgbouncer | undefined
  let wallets: WalletAddressServer | undefined
  let client: TestClient
  let account: string
  let procs: Replica[] = []

  before(async () => {
    database = (await createTestDatabase())!
    bouncer = await startPgbouncer(binary!, database.url, POOL_SIZE)
    wallets = await startWalletAddressServer()
    client = wallets.addClient('pooled', { authServer: grantUrl })
    account = `${wallets.url}/alice`
    // Started together: both migrate the fresh database at once, through the pooler.
    const settings = {
      databaseUrl: bouncer.url,
      publicUrl: PUBLIC_URL,
      tenant,
      idpSecret: IDP_SECRET,
      env: { DATABASE_PREPARED_STATEMENTS: 'false' }
    }
    procs = [await startReplica('A', settings), await startReplica('B', settings)]
    await Promise.all(procs.map(untilReady))
  })

  after(async () => {
    await Promise.all(procs.map(stopReplica))
    await bouncer?.stop()
    await wallets?.close()
    await database?.drop()
  })

  const processOf = (i: number) => procs[i % 2]!
  const logs = () =>
    [
      ...procs.map((p) => `--- opas ${p.name}:\n${p.output()}`),
      `--- PgBouncer:\n${bouncer?.output()}`
    ].join('\n')

  const signed = (
    url: string,
    opas: Replica,
    options: { method?: string; body?: unknown; token?: string; created?: number }
  ) => signedRequest(url, { client, ...options, sendTo: via(url, opas, PUBLIC_URL) })

  /** `n` calls at once, alternating between the processes; no answer may be a 5xx. */
  async function fire(
    n: number,
    call: (opas: Replica, i: number) => Promise<TestResponse>
  ): Promise<TestResponse[]> {
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => call(processOf(i), i)))
    for (const res of answers) assert.ok(res.status < 500, `${outcome(res)} ${res.text}\n${logs()}`)
    return answers
  }

  function soleWinner(answers: TestResponse[], losers: string[]): TestResponse {
    const winners = answers.filter((r) => r.status === 200)
    assert.equal(winners.length, 1, `one 200, got ${answers.map(outcome).join('; ')}`)
    for (const res of answers.filter((r) => r !== winners[0])) {
      assert.ok(losers.includes(outcome(res)), `unexpected refusal ${outcome(res)}`)
    }
    return winners[0]!
  }

  async function introspect(value: string): Promise<boolean> {
    const answers = await Promise.all(
      procs.map((p) => postJson(`${p.introspection}/`, { access_token: value }))
    )
    for (const res of answers) assert.equal(res.status, 200, `${res.text}\n${logs()}`)
    const [a, b] = answers.map((r) => (r.body as { active: boolean }).active)
    assert.equal(a, b, 'both processes answer alike')
    return a!
  }

  /** An interactive grant accepted at the IdP: its finish link and its continuation. */
  async function acceptedGrant(round: number) {
    const pending = pendingGrantOf(
      await signed(grantUrl, processOf(round), { body: interactiveGrantBody(client, account) })
    )
    const start = await send(via(pending.redirect, processOf(round), PUBLIC_URL), {})
    assert.equal(start.status, 302, start.text)
    const idp = new URL(start.headers.get('location')!)
    const [id, nonce] = [idp.searchParams.get('interactId')!, idp.searchParams.get('nonce')!]
    const cookie = start.headers.get('set-cookie')!.split(';')[0]!
    const accept = await send(`${processOf(round + 1).interaction}/grant/${id}/${nonce}/accept`, {
      method: 'POST',
      headers: { 'x-idp-secret': IDP_SECRET, 'content-type': 'application/json' },
      body: '{}'
    })
    assert.equal(accept.status, 202, accept.text)
    const finish = (opas: Replica) =>
      send(`${opas.auth}/interact/${id}/${nonce}/finish`, { headers: { cookie } })
    return { pending, finish }
  }

  test(
    `${N} identical grant requests at once over both processes: ${N} grants, each with a live token`,
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        // One signature for all: byte-identical requests (an SDK signing in the same second).
        const created = Math.floor(Date.now() / 1000) - round
        const answers = await fire(N, (p) =>
          signed(grantUrl, p, { body: nonInteractiveGrantBody(client), created })
        )
        const tokens = answers.map((res) => issuedGrantOf(res).token.value)
        assert.equal(new Set(tokens).size, N)
        for (const token of tokens) assert.equal(await introspect(token), true)
      }
    }
  )

  test(
    `${N} rotations of one token at once over both processes: one winner, one live token`,
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { token } = issuedGrantOf(
          await signed(grantUrl, processOf(round), { body: nonInteractiveGrantBody(client) })
        )
        const rotate = (t: Token, p: Replica) =>
          signed(t.manage, p, { token: t.value, method: 'POST' })
        const winner = soleWinner(await fire(N, (p) => rotate(token, p)), [
          `401 invalid_client: ${INVALID_TOKEN}`,
          `404 invalid_rotation: ${INVALID_TOKEN}`
        ])
        const next = (winner.body as { access_token: Token }).access_token
        assert.equal(await introspect(token.value), false)
        assert.equal(await introspect(next.value), true)
      }
    }
  )

  test(
    `${N} continuations with one interact_ref at once over both processes: one token`,
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { pending, finish } = await acceptedGrant(round)
        const back = await finish(processOf(round + 1))
        assert.equal(back.status, 302, back.text)
        const interactRef = new URL(back.headers.get('location')!).searchParams.get('interact_ref')
        assert.ok(interactRef, 'the finish redirect carries interact_ref')
        const answers = await fire(N, (p) =>
          signed(pending.continueUri, p, {
            token: pending.continueToken,
            body: { interact_ref: interactRef }
          })
        )
        const winner = soleWinner(answers, [
          '401 request_denied: grant already continued: token issued'
        ])
        const token = (winner.body as { access_token: Token }).access_token
        assert.equal(await introspect(token.value), true)
      }
    }
  )

  test(
    'a finish link opened again and again at once on both processes: one place to return to',
    opts,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { pending, finish } = await acceptedGrant(round)
        const answers = await fire(N / 2, (p) => finish(p))
        const places = new Set(answers.map((res) => `${res.status} ${res.headers.get('location')}`))
        assert.equal(places.size, 1, [...places].join('\n'))
        const back = new URL(answers[0]!.headers.get('location')!)
        assert.equal(answers[0]!.status, 302)
        const interactRef = back.searchParams.get('interact_ref')
        assert.ok(interactRef, 'the finish redirect carries interact_ref')
        const cont = await signed(pending.continueUri, processOf(round), {
          token: pending.continueToken,
          body: { interact_ref: interactRef }
        })
        assert.equal(cont.status, 200, cont.text)
      }
    }
  )

  test('the processes held more connections to PgBouncer than it had to PostgreSQL', async (t) => {
    // Otherwise each client connection could have kept a server connection of its own, and
    // nothing above would have crossed from one to another.
    let clients = 0
    for (const p of procs) {
      const metrics = await (await fetch(`${p.admin}/metrics`)).text()
      const total = /^opas_db_pool_connections\{state="total"\} (\d+)$/m.exec(metrics)
      assert.ok(total, `opas ${p.name} reports its pool`)
      clients += Number(total[1])
    }
    const direct = new pg.Client({ connectionString: database!.url })
    await direct.connect()
    try {
      const { rows } = await direct.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()'
      )
      const servers = rows[0]!.n
      assert.ok(servers <= POOL_SIZE, `${servers} server connections`)
      assert.ok(clients > servers, `${clients} client connections over ${servers}`)
      t.diagnostic(`${clients} client connections over ${servers} server connections`)
    } finally {
      await direct.end()
    }
  })

  test('neither process logged an error', () => {
    // pino levels: 50 error, 60 fatal. An unhandled error is answered 500 and logged.
    for (const p of procs) {
      assert.doesNotMatch(p.output(), /"level":(50|60)/, `opas ${p.name}:\n${p.output()}`)
      assert.equal(p.child.exitCode, null, `opas ${p.name} is still running`)
    }
  })
})
