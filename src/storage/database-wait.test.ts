import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Db } from './db.js'
import { DatabaseWaitError, waitForDatabase } from './database-wait.js'

/** A database whose first queries fail with `errors`, in order, then answer. */
function failingFirst(errors: unknown[]): Db & { attempts: number } {
  const db = {
    attempts: 0,
    async query() {
      const error = errors[db.attempts++]
      if (error !== undefined) throw error
      return { rows: [], rowCount: 1 }
    }
  }
  return db as unknown as Db & { attempts: number }
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
  code: 'ECONNREFUSED',
  syscall: 'connect'
})
const startingUp = Object.assign(new Error('the database system is starting up'), {
  code: '57P03'
})
const unknownHost = Object.assign(new Error('getaddrinfo ENOTFOUND postgres'), {
  code: 'ENOTFOUND',
  syscall: 'getaddrinfo'
})

/** A clock that sleeping moves on: no test waits for real time. */
function fakeTime() {
  let now = 0
  const slept: number[] = []
  return {
    slept,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms)
      now += ms
    }
  }
}

const describe = 'AUTH_DATABASE_URL=postgresql://opas:redacted@db/opas'

test('waits with backoff for a database not up yet, telling each attempt, until it answers', async () => {
  const db = failingFirst([unknownHost, refused, refused, startingUp, refused, refused])
  const time = fakeTime()
  const told: { attempt: number; reason: string; retryInMs: number }[] = []
  await waitForDatabase(db, { describe, limitSeconds: 60, onRetry: (a) => told.push(a), ...time })
  assert.equal(db.attempts, 7)
  assert.deepEqual(time.slept, [250, 500, 1000, 2000, 4000, 5000], 'doubling, at most 5 s')
  assert.deepEqual(
    told.map((a) => [a.attempt, a.reason]),
    [
      [1, unknownHost.message],
      [2, refused.message],
      [3, refused.message],
      [4, startingUp.message],
      [5, refused.message],
      [6, refused.message]
    ]
  )
})

test('gives up at DATABASE_WAIT_SECONDS, naming where and why', async () => {
  const db = failingFirst(Array(100).fill(refused))
  const time = fakeTime()
  await assert.rejects(
    waitForDatabase(db, { describe, limitSeconds: 3, onRetry: () => {}, ...time }),
    (err) =>
      err instanceof DatabaseWaitError &&
      err.message ===
        `the database at ${describe} did not answer within 3 s (DATABASE_WAIT_SECONDS; ` +
          `5 attempt(s)): ${refused.message}`
  )
  assert.equal(time.now(), 3000, 'the last wait is cut to the limit')
})

test('a refused password or a missing database is not waited for', async () => {
  for (const [code, message] of [
    ['28P01', 'password authentication failed for user "opas"'],
    ['3D000', 'database "opas" does not exist']
  ]) {
    const db = failingFirst([Object.assign(new Error(message), { code })])
    const time = fakeTime()
    await assert.rejects(
      waitForDatabase(db, { describe, limitSeconds: 60, onRetry: () => {}, ...time }),
      { message: `the database at ${describe} refused: ${message}` }
    )
    assert.deepEqual(time.slept, [])
  }
})

test('0 seconds gives up at the first failure; an interrupted start stops waiting', async () => {
  await assert.rejects(
    waitForDatabase(failingFirst([refused]), { describe, limitSeconds: 0, onRetry: () => {} }),
    /did not answer within 0 s/
  )
  const stop = new AbortController()
  const waiting = waitForDatabase(failingFirst(Array(100).fill(refused)), {
    describe,
    limitSeconds: 3600,
    abort: stop.signal,
    onRetry: () => stop.abort(new Error('interrupted by SIGINT'))
  })
  await assert.rejects(waiting, { message: 'interrupted by SIGINT' })
})
