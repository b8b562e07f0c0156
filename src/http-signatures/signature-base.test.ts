import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSignatureBase, SignatureError } from './index.js'
import type { HttpMessage } from './index.js'

const P = '();created=1'

function lines(msg: HttpMessage, components: string[]): string[] {
  return createSignatureBase(msg, components, P).split('\n').slice(0, -1)
}

const DERIVED = [
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@path',
  '@query',
  '@request-target'
]

test('RFC 9421 §2.2: derived components of a URI with port and query', () => {
  const msg: HttpMessage = {
    method: 'post',
    targetUri: 'https://Auth.Example:8443/a/b?x=1&y',
    headers: {}
  }
  assert.deepEqual(lines(msg, DERIVED), [
    '"@method": POST',
    '"@target-uri": https://Auth.Example:8443/a/b?x=1&y',
    '"@authority": auth.example:8443',
    '"@scheme": https',
    '"@path": /a/b',
    '"@query": ?x=1&y',
    '"@request-target": /a/b?x=1&y'
  ])
})

test('RFC 9421 §2.2.3, §2.2.6, §2.2.7: default port omitted, empty path is /, absent query is ?', () => {
  const msg: HttpMessage = { method: 'GET', targetUri: 'https://auth.example:443', headers: {} }
  assert.deepEqual(lines(msg, ['@authority', '@path', '@query', '@request-target']), [
    '"@authority": auth.example',
    '"@path": /',
    '"@query": ?',
    '"@request-target": /'
  ])
})

test('RFC 9421 §2.1: field lines are trimmed, unfolded and joined with ", "', () => {
  const msg: HttpMessage = {
    method: 'GET',
    targetUri: 'https://a/',
    headers: { 'x-list': ['  one ', 'two\r\n   three'], 'x-single': '\tvalue\t' }
  }
  assert.deepEqual(lines(msg, ['x-list', 'x-single']), [
    '"x-list": one, two three',
    '"x-single": value'
  ])
})

test('RFC 9421 §2.5: the parameters line ends the base without a newline', () => {
  const msg: HttpMessage = { method: 'GET', targetUri: 'https://a/', headers: {} }
  assert.equal(
    createSignatureBase(msg, ['@method'], P),
    `"@method": GET\n"@signature-params": ${P}`
  )
})

test('RFC 9421 §2.5: duplicate, unsupported and line-breaking components are refused', () => {
  const msg: HttpMessage = { method: 'GET', targetUri: 'https://a/', headers: { 'x-bad': 'a\nb' } }
  for (const components of [['@method', '@method'], ['@status'], ['Content-Type'], ['x-bad']]) {
    assert.throws(
      () => createSignatureBase(msg, components, P),
      (e: unknown) => e instanceof SignatureError && e.reason === 'malformed',
      components.join()
    )
  }
  assert.throws(
    () => createSignatureBase(msg, ['x-absent'], P),
    (e: unknown) => e instanceof SignatureError && e.reason === 'missing_component'
  )
})
