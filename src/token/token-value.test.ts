import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  TOKEN_BYTES,
  generateTokenValue,
  hashToken,
  isTokenExpired,
  parseGnapAuthorization
} from './token-value.js'

describe('generateTokenValue', () => {
  test('asks for 32 random bytes and encodes them as 43 base64url characters', () => {
    const sizes: number[] = []
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 251) % 256))
    const value = generateTokenValue((size) => {
      sizes.push(size)
      return bytes
    })
    assert.deepEqual(sizes, [32])
    assert.equal(TOKEN_BYTES, 32)
    assert.equal(value, bytes.toString('base64url'))
    assert.equal(value.length, 43)
    assert.deepEqual(Buffer.from(value, 'base64url'), bytes)
  })

  test('known answer: 32 bytes 0xff encode as 42 underscores and an 8 (no padding, no / or +)', () => {
    assert.equal(
      generateTokenValue(() => Buffer.alloc(32, 0xff)),
      `${'_'.repeat(42)}8`
    )
    assert.equal(
      generateTokenValue(() => Buffer.alloc(32, 0xfb)),
      `${'-_v7'.repeat(10)}-_s`
    )
  })

  test('real randomness: URL-safe, distinct values', () => {
    const values = new Set(Array.from({ length: 200 }, () => generateTokenValue(randomBytes)))
    assert.equal(values.size, 200)
    for (const value of values) assert.match(value, /^[A-Za-z0-9_-]{43}$/)
  })
})

describe('hashToken', () => {
  test('is SHA-256 over the UTF-8 value (known answer for "abc")', () => {
    assert.equal(
      hashToken('abc').toString('hex'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    )
  })

  test('32 bytes, equal to node:crypto SHA-256, for non-ASCII values too', () => {
    for (const value of ['token-value', 'é€𝄞', '']) {
      const hash = hashToken(value)
      assert.equal(hash.length, 32)
      assert.deepEqual(hash, createHash('sha256').update(Buffer.from(value, 'utf8')).digest())
    }
    assert.notDeepEqual(hashToken('a'), hashToken('A'))
  })
})

describe('isTokenExpired', () => {
  const created = new Date('2024-01-01T00:00:00.000Z')
  const at = (ms: number) => new Date(created.getTime() + ms)

  test('usable up to and including createdAt + expires_in; expired one millisecond later', () => {
    assert.equal(isTokenExpired(created, 600, at(0)), false)
    assert.equal(isTokenExpired(created, 600, at(599_999)), false)
    assert.equal(isTokenExpired(created, 600, at(600_000)), false)
    assert.equal(isTokenExpired(created, 600, at(600_001)), true)
  })

  test('seconds, not milliseconds: a 1 s token', () => {
    assert.equal(isTokenExpired(created, 1, at(1000)), false)
    assert.equal(isTokenExpired(created, 1, at(1001)), true)
  })

  test('a clock before the creation time is not expired', () => {
    assert.equal(isTokenExpired(created, 0, at(-1)), false)
    assert.equal(isTokenExpired(created, 0, at(1)), true)
  })
})

describe('parseGnapAuthorization', () => {
  test('the token after the GNAP scheme, matched case-insensitively', () => {
    for (const header of ['GNAP abc-_1', 'gnap abc-_1', 'Gnap abc-_1', 'gNaP abc-_1']) {
      assert.equal(parseGnapAuthorization(header), 'abc-_1', header)
    }
  })

  test('extra spaces around the token are tolerated', () => {
    assert.equal(parseGnapAuthorization('GNAP   abc'), 'abc')
    assert.equal(parseGnapAuthorization('GNAP abc  '), 'abc')
  })

  test('missing, empty or blank: undefined', () => {
    for (const header of [undefined, '', 'GNAP', 'GNAP ', 'GNAP    ']) {
      assert.equal(parseGnapAuthorization(header), undefined, JSON.stringify(header))
    }
  })

  test('another scheme, no separator, or a value with spaces: undefined', () => {
    for (const header of [
      'Bearer abc',
      'Basic YWJj',
      'GNAPabc',
      'GNAPS abc',
      ' GNAP abc',
      'GNAP\tabc',
      'GNAP abc def',
      'abc'
    ]) {
      assert.equal(parseGnapAuthorization(header), undefined, header)
    }
  })
})
