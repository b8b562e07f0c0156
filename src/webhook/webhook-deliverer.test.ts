import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { useTestDb } from '../../test/helpers/store-test.js'
import { insertEvent } from '../audit/event-store.js'
import type { EventType } from '../audit/events.js'
import type { Queryable } from '../storage/db.js'
import { createWebhookDeliverer, type WebhookTargets } from './webhook-deliverer.js'
import type { SendResult, WebhookTarget } from './webhook-sender.js'
import type { WebhookBody } from './webhook-signature.js'
import { findDelivery, listDeliveries, retryNow } from './webhook-store.js'

/**
 * The deliverer on a real database, with a receiver stood in for: what is sent, once, in each
 * grant's order, after commit; what a failure leaves for its retry; two deliverers at once.
 */

const store = useTestDb(async () => undefined)
const db = () => store.db

const GLOBAL: WebhookTarget = { url: 'http://receiver.test/hooks', secret: 'global-secret' }
const TENANT = randomUUID()

interface Sent {
  target: WebhookTarget
  body: WebhookBody
}

function fakeReceiver(initial: (body: WebhookBody) => SendResult = () => ok) {
  const receiver = {
    sent: [] as Sent[],
    /** What the receiver answers; a test may change it. */
    answer: initial,
    sender: {
      send: async (target: WebhookTarget, body: WebhookBody): Promise<SendResult> => {
        receiver.sent.push({ target, body })
        return receiver.answer(body)
      }
    }
  }
  return receiver
}

const ok: SendResult = { delivered: true, status: 200 }
const refused: SendResult = { delivered: false, status: 503, error: 'the receiver answered 503' }

function deliverer(
  receiver: ReturnType<typeof fakeReceiver>,
  options: { targets?: Partial<WebhookTargets>; maxRetries?: number } = {}
) {
  return createWebhookDeliverer({
    db: db(),
    sender: receiver.sender,
    targets: {
      global: GLOBAL,
      ofTenant: async () => undefined,
      anyTenant: async () => false,
      ...options.targets
    },
    // A retry is due at once: the tests run passes rather than wait.
    policy: { maxRetries: options.maxRetries ?? 5, firstDelayMs: 0, maxDelayMs: 0 },
    timeoutMs: 1000,
    now: Date.now,
    logger: { warn: () => {}, info: () => {} }
  })
}

const grantEvent = (q: Queryable, type: EventType, grantId: string, tenantId = TENANT) =>
  insertEvent(q, {
    type,
    tenantId,
    grantId,
    client: 'https://wallet.test/app',
    actor: { kind: 'client', walletAddress: 'https://wallet.test/app' }
  })

/**
 * Passes of `running` until `done` holds. The horizon is the oldest transaction running on the
 * whole PostgreSQL server: another test's, in another database, may hold it back for a moment.
 */
async function passUntil(
  running: { runOnce(): Promise<number> },
  done: () => boolean,
  what: string
): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`not within 20 s: ${what}`)
    await running.runOnce()
  }
}

const sentFor = (sent: Sent[], grantId: string) =>
  sent.filter((s) => s.body.data.grantId === grantId).map((s) => s.body.type)

test('an event written before webhooks existed (no transaction id kept) is never sent', async () => {
  const grantId = randomUUID()
  await grantEvent(db(), 'grant.issued', grantId)
  await db().query('update events set xid = null where grant_id = $1', [grantId])
  const receiver = fakeReceiver()
  const running = deliverer(receiver)
  const later = randomUUID()
  await grantEvent(db(), 'grant.issued', later)
  await passUntil(running, () => sentFor(receiver.sent, later).length > 0, 'the later one sent')
  assert.deepEqual(sentFor(receiver.sent, grantId), [])
})

describe('after commit, once', () => {
  test('a committed event is sent once; a rolled-back one never', async () => {
    const receiver = fakeReceiver()
    const committed = randomUUID()
    const rolledBack = randomUUID()
    await grantEvent(db(), 'grant.issued', committed)
    await db()
      .transaction(async (tx) => {
        await grantEvent(tx, 'grant.issued', rolledBack)
        throw new Error('roll back')
      })
      .catch(() => {})
    const running = deliverer(receiver)
    await passUntil(running, () => sentFor(receiver.sent, committed).length > 0, 'sent')
    await running.runOnce()
    assert.deepEqual(sentFor(receiver.sent, committed), ['grant.issued'])
    assert.deepEqual(sentFor(receiver.sent, rolledBack), [])
    const [delivery] = await listDeliveries(db(), { grantId: committed }, { limit: 5 })
    assert.equal(delivery!.state, 'delivered')
    assert.equal(delivery!.attempts, 1)
    assert.equal(receiver.sent[0]!.body.id, delivery!.id, 'the body id is the delivery id')
  })

  test('a pass that dies before it writes down what it sent sends again, with the same ids', async () => {
    const grantId = randomUUID()
    await grantEvent(db(), 'grant.issued', grantId)
    // The first receiver answers 200, then the database refuses the pass's writes: as if opas
    // were killed between the receiver's answer and the commit.
    const first = fakeReceiver()
    const dying = createWebhookDeliverer({
      db: {
        ...db(),
        transaction: (fn) =>
          db().transaction(async (tx) => {
            await fn({
              ...tx,
              query: (sql, params) =>
                sql.includes('insert into webhook_deliveries')
                  ? Promise.reject(new Error('killed'))
                  : tx.query(sql, params)
            } as Queryable)
          }) as never
      },
      sender: first.sender,
      targets: { global: GLOBAL, ofTenant: async () => undefined, anyTenant: async () => false },
      policy: { maxRetries: 5, firstDelayMs: 0, maxDelayMs: 0 },
      timeoutMs: 1000,
      now: Date.now,
      logger: { warn: () => {}, info: () => {} }
    })
    const deadline = Date.now() + 20_000
    while (sentFor(first.sent, grantId).length === 0 && Date.now() < deadline) {
      await dying.runOnce().catch(() => {})
    }
    assert.deepEqual(sentFor(first.sent, grantId), ['grant.issued'])
    const second = fakeReceiver()
    await passUntil(deliverer(second), () => sentFor(second.sent, grantId).length > 0, 'again')
    const idOf = (r: typeof first) => r.sent.find((s) => s.body.data.grantId === grantId)!.body.id
    assert.equal(idOf(second), idOf(first))
  })

  test('an event of a transaction still open waits for its commit', async () => {
    const receiver = fakeReceiver()
    const grantId = randomUUID()
    let commit!: () => void
    const gate = new Promise<void>((resolve) => (commit = resolve))
    let written!: () => void
    const wrote = new Promise<void>((resolve) => (written = resolve))
    const open = db().transaction(async (tx) => {
      await grantEvent(tx, 'grant.issued', grantId)
      written()
      await gate
    })
    await wrote
    const running = deliverer(receiver)
    await running.runOnce()
    assert.deepEqual(sentFor(receiver.sent, grantId), [], 'not before its commit')
    commit()
    await open
    await passUntil(running, () => sentFor(receiver.sent, grantId).length > 0, 'sent')
    assert.deepEqual(sentFor(receiver.sent, grantId), ['grant.issued'])
  })

  test("a grant's events in their order, though the later one's transaction took its id first", async () => {
    // T_late takes its transaction id first, T_blocker next (and stays open, holding the
    // horizon), T_early last; T_early writes the grant's first event and commits, then T_late
    // writes the second. The horizon is below T_early's id, so the first event is above it
    // although committed, and the second (below it) would go first without the pull-forward.
    const receiver = fakeReceiver()
    const grantId = randomUUID()
    const steps = gatedSteps()
    const late = db().transaction(async (tx) => {
      await tx.query('select pg_current_xact_id()')
      steps.done('late has its id')
      await steps.reached('early committed')
      await grantEvent(tx, 'token.revoked', grantId)
    })
    await steps.reached('late has its id')
    const blocker = db().transaction(async (tx) => {
      await tx.query('select pg_current_xact_id()')
      steps.done('blocker has its id')
      await steps.reached('release blocker')
    })
    await steps.reached('blocker has its id')
    await db().transaction((tx) => grantEvent(tx, 'grant.issued', grantId))
    steps.done('early committed')
    await late
    const running = deliverer(receiver)
    await passUntil(running, () => sentFor(receiver.sent, grantId).length === 2, 'both sent')
    assert.deepEqual(sentFor(receiver.sent, grantId), ['grant.issued', 'access_token.revoked'])
    steps.done('release blocker')
    await blocker
    await running.runOnce()
    await running.runOnce()
    assert.deepEqual(
      sentFor(receiver.sent, grantId),
      ['grant.issued', 'access_token.revoked'],
      'the event read early is not sent again when the horizon passes it'
    )
  })
})

describe('failures', () => {
  test("a failed event is retried with its id; the grant's later events wait, others do not", async () => {
    let failures = 2
    const failing = randomUUID()
    const other = randomUUID()
    const receiver = fakeReceiver((body) =>
      body.data.grantId === failing && body.type === 'grant.issued' && failures-- > 0 ? refused : ok
    )
    await grantEvent(db(), 'grant.issued', failing)
    await grantEvent(db(), 'token.rotated', failing)
    await grantEvent(db(), 'grant.issued', other)
    const running = deliverer(receiver)
    await passUntil(running, () => sentFor(receiver.sent, failing).length === 4, 'all sent')
    await running.runOnce()
    // The rotation went only once the issue was delivered; the other grant did not wait.
    assert.deepEqual(sentFor(receiver.sent, other), ['grant.issued'])
    assert.deepEqual(sentFor(receiver.sent, failing), [
      'grant.issued',
      'grant.issued',
      'grant.issued',
      'access_token.rotated'
    ])
    const ids = receiver.sent.filter((s) => s.body.data.grantId === failing).map((s) => s.body.id)
    assert.equal(new Set(ids.slice(0, 3)).size, 1, 'the same id on every attempt')
    const [rotated, issued] = await listDeliveries(db(), { grantId: failing }, { limit: 5 })
    assert.deepEqual(
      [issued!.state, issued!.attempts, rotated!.state, rotated!.attempts],
      ['delivered', 3, 'delivered', 1]
    )
  })

  test('given up after the last retry, with its error; the next event goes on; retry now sends it again', async () => {
    const grantId = randomUUID()
    const receiver = fakeReceiver((body) =>
      body.data.grantId === grantId && body.type === 'grant.issued' ? refused : ok
    )
    await grantEvent(db(), 'grant.issued', grantId)
    await grantEvent(db(), 'grant.revoked', grantId)
    const running = deliverer(receiver, { maxRetries: 1 })
    await passUntil(running, () => sentFor(receiver.sent, grantId).length === 3, 'all tried')
    await running.runOnce()
    assert.deepEqual(sentFor(receiver.sent, grantId), [
      'grant.issued',
      'grant.issued',
      'grant.revoked'
    ])
    const [, issued] = await listDeliveries(db(), { grantId }, { limit: 5 })
    assert.equal(issued!.state, 'failed')
    assert.equal(issued!.attempts, 2)
    assert.equal(issued!.lastStatus, 503)
    assert.equal(issued!.lastError, 'the receiver answered 503')

    receiver.answer = () => ok
    assert.ok(await retryNow(db(), issued!.id))
    await running.runOnce()
    assert.deepEqual(sentFor(receiver.sent, grantId).at(-1), 'grant.issued')
    const after = await findDelivery(db(), issued!.id)
    assert.equal(after!.state, 'delivered')
    assert.equal(await retryNow(db(), issued!.id), undefined, 'a delivered one is not sent again')
  })
})

describe('recipients', () => {
  test("a tenant with its own receiver gets its grants' events, signed with its secret; its own changes go to WEBHOOK_URL", async () => {
    const tenantId = randomUUID()
    const own: WebhookTarget = { url: 'http://tenant.test/hooks', secret: 'tenant-secret' }
    const receiver = fakeReceiver()
    const grantId = randomUUID()
    await grantEvent(db(), 'grant.issued', grantId, tenantId)
    await insertEvent(db(), {
      type: 'tenant.updated',
      tenantId,
      actor: { kind: 'service-api' },
      details: { fields: ['webhookUrl'], webhookUrl: own.url }
    })
    const running = deliverer(receiver, {
      targets: { ofTenant: async (id) => (id === tenantId ? own : undefined) }
    })
    await passUntil(
      running,
      () => receiver.sent.filter((s) => s.body.data.tenantId === tenantId).length === 2,
      'both sent'
    )
    // Two keys (the grant, the tenant): sent side by side, in either order.
    const mine = receiver.sent
      .filter((s) => s.body.data.tenantId === tenantId)
      .sort((a, b) => a.body.type.localeCompare(b.body.type))
    assert.deepEqual(
      mine.map((s) => [s.body.type, s.target.url]),
      [
        ['grant.issued', own.url],
        ['tenant.updated', GLOBAL.url]
      ]
    )
    assert.deepEqual(mine[1]!.body.data.fields, ['webhookUrl'])
  })

  test('with no receiver anywhere, nothing is sent, and nothing of that time is sent later', async () => {
    const grantId = randomUUID()
    const receiver = fakeReceiver()
    const none = { global: undefined, anyTenant: async () => false }
    await grantEvent(db(), 'grant.issued', grantId)
    // The cursor keeps up at most every ten seconds when idle: moved here as an idle pass would.
    await deliverer(receiver, { targets: none }).runOnce()
    await db().query(`update webhook_cursor set updated_at = now() - interval '1 minute'`)
    await deliverer(receiver, { targets: none }).runOnce()
    await deliverer(receiver).runOnce()
    assert.deepEqual(sentFor(receiver.sent, grantId), [])
  })
})

test('two deliverers at once send each event once', async () => {
  const receiver = fakeReceiver()
  const first = deliverer(receiver)
  const second = deliverer(receiver)
  const grants = Array.from({ length: 30 }, () => randomUUID())
  const writing = (async () => {
    for (const grantId of grants) await grantEvent(db(), 'grant.issued', grantId)
  })()
  const passes = async (d: typeof first) => {
    for (let i = 0; i < 20; i++) await d.runOnce()
  }
  await Promise.all([writing, passes(first), passes(second)])
  await passUntil(
    first,
    () => grants.every((grantId) => sentFor(receiver.sent, grantId).length > 0),
    'every one sent'
  )
  await second.runOnce()
  for (const grantId of grants) assert.deepEqual(sentFor(receiver.sent, grantId), ['grant.issued'])
})

/** Named steps of a test's concurrent transactions, each awaited by name. */
function gatedSteps() {
  const steps = new Map<string, { promise: Promise<void>; resolve: () => void }>()
  const step = (name: string) => {
    let entry = steps.get(name)
    if (!entry) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      entry = { promise, resolve }
      steps.set(name, entry)
    }
    return entry
  }
  return {
    done: (name: string) => step(name).resolve(),
    reached: (name: string) => step(name).promise
  }
}
