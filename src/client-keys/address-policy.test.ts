import { test } from 'node:test'
import assert from 'node:assert/strict'
import { classifyAddress, createAddressPolicy, isForbiddenAddress } from './address-policy.js'
import type { AddressClass } from './address-policy.js'

const table: [address: string, expected: AddressClass][] = [
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.254', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'carrier_grade_nat'],
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['169.254.1.1', 'link_local'],
  ['169.254.169.254', 'cloud_metadata'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['fe80::1', 'link_local'],
  ['fe80::1%eth0', 'link_local'],
  ['fc00::1', 'unique_local'],
  ['fd12:3456::1', 'unique_local'],
  ['fd00:ec2::254', 'cloud_metadata'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'cloud_metadata'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['::127.0.0.1', 'reserved'],
  ['::8.8.8.8', 'reserved'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b:1::1', 'private'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:808:808::1', 'public'],
  ['2001:db8::1', 'reserved'],
  ['2001::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['2606:4700::1111', 'public'],
  ['2a00:1450:4001::200e', 'public'],
  ['localhost', 'invalid'],
  ['127.1', 'invalid'],
  ['0x7f000001', 'invalid'],
  ['', 'invalid'],
  ['[::1]', 'invalid']
]

for (const [address, expected] of table) {
  test(`classifyAddress(${JSON.stringify(address)}) is ${expected}`, () => {
    assert.equal(classifyAddress(address), expected)
    assert.equal(isForbiddenAddress(address), expected !== 'public')
  })
}

test('allowPrivate allows every address', () => {
  const policy = createAddressPolicy({ allowPrivate: true })
  for (const [address] of table) assert.equal(policy(address), true)
})

test('without allowPrivate only public addresses pass', () => {
  const policy = createAddressPolicy({ allowPrivate: false })
  for (const [address, expected] of table) assert.equal(policy(address), expected === 'public')
})

test('allowedCidrs opens only the listed ranges', () => {
  const policy = createAddressPolicy({
    allowPrivate: false,
    allowedCidrs: ['10.20.0.0/16', 'fd00:1::/32']
  })
  assert.equal(policy('10.20.3.4'), true)
  assert.equal(policy('::ffff:10.20.3.4'), true)
  assert.equal(policy('fd00:1::5'), true)
  assert.equal(policy('10.21.0.1'), false)
  assert.equal(policy('127.0.0.1'), false)
  assert.equal(policy('169.254.169.254'), false)
  assert.equal(policy('fd00:ec2::254'), false)
  assert.equal(policy('8.8.8.8'), true)
  assert.equal(policy('not-an-ip'), false)
})

test('a malformed CIDR is a loud configuration error', () => {
  assert.throws(() => createAddressPolicy({ allowPrivate: false, allowedCidrs: ['10.0.0.0/99'] }))
})
