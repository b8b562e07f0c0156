import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRandomPool } from './random-pool.js'

describe('random pool', () => {
  test('hands out each byte once, across block refills', () => {
    const randomBytes = createRandomPool(64)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(16)
      assert.equal(bytes.length, 16)
      // 128 random bits: a repeat means bytes were handed out twice.
      const hex = bytes.toString('hex')
      assert.ok(!seen.has(hex), `repeated value at draw ${i}`)
      seen.add(hex)
    }
  })

  test('a caller owns its buffer: later draws do not change it', () => {
    const randomBytes = createRandomPool(64)
    const first = randomBytes(32)
    const copy = Buffer.from(first)
    for (let i = 0; i < 10; i++) randomBytes(32)
    assert.deepEqual(first, copy)
  })

  test('sizes larger than the block come straight from the CSPRNG', () => {
    const randomBytes = createRandomPool(16)
    const big = randomBytes(100)
    assert.equal(big.length, 100)
    assert.notDeepEqual(big, Buffer.alloc(100))
  })

  test('bytes are spread as random bytes are (no stuck or zeroed block)', () => {
    const randomBytes = createRandomPool(256)
    const counts = new Array<number>(256).fill(0)
    for (let i = 0; i < 4096; i++) for (const b of randomBytes(16)) counts[b]!++
    // 65,536 bytes over 256 values: about 256 each; a zeroed or repeated block shows far off.
    assert.ok(Math.max(...counts) < 400 && Math.min(...counts) > 150, String(counts))
  })
})
