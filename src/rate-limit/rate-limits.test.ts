import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { pino } from 'pino'
import { addressKey, createRateLimits, type SecretAttempt } from './rate-limits.js'

const limits = (perTenant: number, perAddress: number) =>
  createRateLimits({
    windowSeconds: 60,
    perIp: 0,
    perClient: 0,
    secretAttempts: { perTenant, perAddress },
    logger: pino({ level: 'silent' })
  })

const allowed = (attempts: SecretAttempt[]) => attempts.filter((a) => a.allowed).length

describe('tries at an API secret', () => {
  test('counted before the check: of 30 sent at once, exactly the budget are allowed', async () => {
    const rateLimits = limits(10, 100)
    const tenant = randomUUID()
    const tries = await Promise.all(
      Array.from({ length: 30 }, () => rateLimits.attemptSecret(tenant, '203.0.113.7'))
    )
    assert.equal(allowed(tries), 10)
    for (const refused of tries.filter((a) => !a.allowed)) {
      assert.ok(refused.retryAfterSeconds > 0 && refused.retryAfterSeconds <= 15 * 60)
    }
  })

  test('one address spending a tenant’s budget holds back no other address', async () => {
    const rateLimits = limits(3, 100)
    const tenant = randomUUID()
    for (let i = 0; i < 3; i++) await rateLimits.attemptSecret(tenant, '203.0.113.7')
    assert.equal((await rateLimits.attemptSecret(tenant, '203.0.113.7')).allowed, false)
    assert.equal((await rateLimits.attemptSecret(tenant, '198.51.100.1')).allowed, true)
    assert.equal((await rateLimits.attemptSecret(randomUUID(), '203.0.113.7')).allowed, true)
  })

  test('an address has one budget across tenants; tries refused by a tenant budget are not charged to it', async () => {
    const rateLimits = limits(2, 5)
    const tenant = randomUUID()
    // Two allowed, then eight refused by the tenant's budget (and given back to the address's).
    for (let i = 0; i < 10; i++) await rateLimits.attemptSecret(tenant, '203.0.113.7')
    const others = await Promise.all(
      Array.from({ length: 6 }, () => rateLimits.attemptSecret(randomUUID(), '203.0.113.7'))
    )
    assert.equal(allowed(others), 3, 'five in all: two at the first tenant, three at others')
  })

  test('a right secret gives its try back', async () => {
    const rateLimits = limits(2, 2)
    const tenant = randomUUID()
    for (let i = 0; i < 5; i++) {
      const attempt = await rateLimits.attemptSecret(tenant, '203.0.113.7')
      assert.ok(attempt.allowed)
      await attempt.succeeded()
    }
  })

  test('a malformed tenant id is one budget, whatever its spelling', async () => {
    const rateLimits = limits(2, 100)
    await rateLimits.attemptSecret('x', '203.0.113.7')
    await rateLimits.attemptSecret('y', '203.0.113.7')
    assert.equal((await rateLimits.attemptSecret('z'.repeat(500), '203.0.113.7')).allowed, false)
  })

  test('the upper-case spelling of a tenant id is the same budget', async () => {
    const rateLimits = limits(1, 100)
    const tenant = randomUUID()
    await rateLimits.attemptSecret(tenant, '203.0.113.7')
    assert.equal(
      (await rateLimits.attemptSecret(tenant.toUpperCase(), '203.0.113.7')).allowed,
      false
    )
  })
})

describe('addressKey', () => {
  test('an IPv6 address is counted by its /64; IPv4, also mapped, by itself', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7')
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7')
    assert.equal(addressKey('not an address'), 'not an address')
  })
})

describe('Redis', () => {
  test('without REDIS_URL, ioredis is never loaded (a process without Redis does not carry it)', () => {
    createRateLimits({
      windowSeconds: 60,
      perIp: 10,
      perClient: 10,
      logger: pino({ level: 'silent' })
    })
    const cache = createRequire(import.meta.url).cache
    assert.deepEqual(
      Object.keys(cache).filter((path) => path.includes('/ioredis/')),
      []
    )
  })
})
