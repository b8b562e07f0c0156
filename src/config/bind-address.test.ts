import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isLoopbackHost, mayShareSocket } from './bind-address.js'

test('loopback is localhost, 127.0.0.0/8 and ::1, in any spelling Node binds as such', () => {
  for (const host of [
    'localhost',
    'LOCALHOST',
    'localhost.',
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1'
  ]) {
    assert.equal(isLoopbackHost(host), true, host)
  }
})

test('the wildcards, other addresses and host names reach beyond loopback', () => {
  for (const host of [
    '0.0.0.0',
    '::',
    '0:0:0:0:0:0:0:0',
    '::ffff:0.0.0.0',
    '10.0.0.5',
    '192.168.1.2',
    '128.0.0.1',
    'fe80::1',
    '::ffff:10.0.0.5',
    // Not a literal address: a name, which the resolver may map anywhere (inet_aton: 127.0.0.1).
    '127.1',
    'auth.internal',
    'localhost.example',
    'my-localhost'
  ]) {
    assert.equal(isLoopbackHost(host), false, host)
  }
})

test('two listeners may share a port only on two distinct IP addresses, neither a wildcard', () => {
  const distinct: [string, string][] = [
    ['127.0.0.1', '127.0.0.2'],
    ['10.0.0.5', '127.0.0.1'],
    ['127.0.0.1', '::1'],
    ['::1', 'fe80::1']
  ]
  for (const [a, b] of distinct) assert.equal(mayShareSocket(a, b), false, `${a} ${b}`)
  const overlapping: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '127.0.0.1'],
    ['::', '10.0.0.5'],
    ['::', '0.0.0.0'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['localhost', '127.0.0.1'],
    ['auth.internal', '10.0.0.5'],
    ['auth.internal', 'admin.internal']
  ]
  for (const [a, b] of overlapping) {
    assert.equal(mayShareSocket(a, b), true, `${a} ${b}`)
    assert.equal(mayShareSocket(b, a), true, `${b} ${a}`)
  }
})
