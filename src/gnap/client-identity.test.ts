import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  clientIdentityOf,
  normalizePercentEncoding,
  normalizeWalletAddress,
  storedClient
} from './client-identity.js'

describe('normalizePercentEncoding (RFC 3986 §6.2.2.1, §6.2.2.2)', () => {
  test('§6.2.2.2: escapes of unreserved characters are the characters', () => {
    // The RFC's own examples: %7E is "~" (§2.3), and "%63" is "c" (§6.2.2).
    assert.equal(normalizePercentEncoding('/%7Esmith/home.html'), '/~smith/home.html')
    assert.equal(normalizePercentEncoding('/b/%63'), '/b/c')
    const unreserved = 'ABCXYZabcxyz0189-._~'
    const escaped = [...unreserved].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')
    assert.equal(normalizePercentEncoding(escaped), unreserved)
    assert.equal(normalizePercentEncoding(escaped.toUpperCase()), unreserved)
  })

  test('§6.2.2.1: other escapes stay escaped, in upper-case hex', () => {
    // The RFC's example: "%7bfoo%7d" normalises to "%7Bfoo%7D".
    assert.equal(normalizePercentEncoding('/%7bfoo%7d'), '/%7Bfoo%7D')
    // Reserved delimiters, "%" itself, non-ASCII octets and controls mean something else decoded.
    assert.equal(normalizePercentEncoding('%2f%3a%40%25%c3%a4%00%20'), '%2F%3A%40%25%C3%A4%00%20')
  })

  test('decoded once: an escaped "%" is not read again with what follows it', () => {
    assert.equal(normalizePercentEncoding('%2561'), '%2561')
  })

  test('a "%" without two hex digits is left alone', () => {
    assert.equal(normalizePercentEncoding('%zz%4%'), '%zz%4%')
  })
})

describe('normalizeWalletAddress', () => {
  const normal = 'https://wallet.example/alice'

  test('the spellings of one wallet address are one (RFC 3986 §6.2.2, §6.2.3)', () => {
    const spellings = [
      'https://wallet.example/alice',
      'HTTPS://WALLET.Example/alice', // §6.2.2.1 case
      'https://wallet.example/%61lice', // §6.2.2.2 percent-encoding
      'https://wallet.example/%61%6C%69%63%65',
      'https://wallet.example/./alice', // §6.2.2.3 dot segments
      'https://wallet.example/bob/../alice',
      'https://wallet.example/x/%2e%2E/alice',
      'https://wallet.example:443/alice', // §6.2.3 default port
      'https://wallet.example:/alice',
      'https://wallet.example/alice/', // no trailing slash in an Open Payments address
      'https://wallet.example/alice//'
    ]
    for (const spelling of spellings)
      assert.equal(normalizeWalletAddress(spelling), normal, spelling)
  })

  test("RFC 3986 §6.2.2's example, on a scheme whose host is case-insensitive", () => {
    assert.equal(
      normalizeWalletAddress('hTTP://A/./b/../b/%63/%7bfoo%7d'),
      normalizeWalletAddress('http://a/b/c/%7Bfoo%7D')
    )
    assert.equal(normalizeWalletAddress('http://a/b/c/%7Bfoo%7D'), 'http://a/b/c/%7Bfoo%7D')
  })

  test('what tells two addresses apart is kept: path case, a non-default port, escaped delimiters', () => {
    assert.equal(normalizeWalletAddress('https://w.example/Alice'), 'https://w.example/Alice')
    assert.equal(normalizeWalletAddress('https://w.example:8443/a'), 'https://w.example:8443/a')
    assert.equal(normalizeWalletAddress('http://w.example:443/a'), 'http://w.example:443/a')
    assert.equal(normalizeWalletAddress('https://w.example/a%2fb'), 'https://w.example/a%2Fb')
  })

  test('an address at the root has no path at all', () => {
    assert.equal(normalizeWalletAddress('https://W.example/'), 'https://w.example')
    assert.equal(normalizeWalletAddress('https://w.example'), 'https://w.example')
  })

  test('what is not a plain http(s) URL is left as given, for the key fetch to refuse', () => {
    for (const other of [
      'https://w.example/a?x=1',
      'https://w.example/a?',
      'https://w.example/a#k',
      'https://user:pw@w.example/a',
      'FTP://W.example/a/',
      'not a url'
    ]) {
      assert.equal(normalizeWalletAddress(other), other)
    }
  })

  test('idempotent, and every output is what WHATWG makes of it', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: false, withFragments: false }), (url) => {
        const once = normalizeWalletAddress(url)
        assert.equal(normalizeWalletAddress(once), once)
        if (once !== url) assert.equal(new URL(once).href.replace(/\/$/, ''), once)
      })
    )
  })
})

describe('clientIdentityOf and storedClient: a wallet address in its one spelling', () => {
  test('each form of the request, and a grant stored before normalisation', () => {
    const walletAddress = 'https://client.example/app'
    const expected = { kind: 'walletAddress', walletAddress }
    assert.deepEqual(clientIdentityOf('HTTPS://client.example/%61pp/'), expected)
    assert.deepEqual(clientIdentityOf({ walletAddress: 'https://client.example/./app' }), expected)
    assert.deepEqual(storedClient({ client: 'https://Client.example/app/', jwk: null }), expected)
  })
})
