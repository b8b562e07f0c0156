import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * What an IP address is, as far as outbound fetches are concerned. Only `public` may be
 * contacted when private addresses are not allowed: everything else is either not globally
 * routable or a well-known SSRF target.
 */
export const addressClasses = [
  'public',
  'private',
  'loopback',
  'link_local',
  'unique_local',
  'carrier_grade_nat',
  'unspecified',
  'multicast',
  'broadcast',
  'reserved',
  'cloud_metadata',
  'invalid'
] as const

export type AddressClass = (typeof addressClasses)[number]

// Instance metadata endpoints (AWS/GCP/Azure IPv4, AWS Nitro IPv6) get their own class so logs
// say plainly what was attempted; they would be refused as link-local / unique-local anyway.
const cloudMetadata = new Set(['169.254.169.254', 'fd00:ec2::254'])

const ipv4Classes: Record<string, AddressClass> = {
  unicast: 'public',
  private: 'private',
  loopback: 'loopback',
  linkLocal: 'link_local',
  carrierGradeNat: 'carrier_grade_nat',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast'
}

const ipv6Classes: Record<string, AddressClass> = {
  unicast: 'public',
  loopback: 'loopback',
  linkLocal: 'link_local',
  uniqueLocal: 'unique_local',
  unspecified: 'unspecified',
  multicast: 'multicast'
}

// Only 2000::/3 is allocated as global unicast (RFC 4291 §2.4); ::/96 (IPv4-compatible) and the
// rest of the unallocated space are not something a wallet address host may resolve to.
const globalUnicast = ipaddr.parseCIDR('2000::/3')
// 64:ff9b:1::/48 is local-use NAT64 (RFC 8215), unlike the well-known 64:ff9b::/96 prefix.
const localNat64 = ipaddr.parseCIDR('64:ff9b:1::/48')

function classifyV4(addr: ipaddr.IPv4): AddressClass {
  if (cloudMetadata.has(addr.toString())) return 'cloud_metadata'
  return ipv4Classes[addr.range()] ?? 'reserved'
}

function embeddedV4(bytes: number[], offset: number): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes.slice(offset, offset + 4))
}

function classifyV6(addr: ipaddr.IPv6): AddressClass {
  if (cloudMetadata.has(addr.toNormalizedString()) || cloudMetadata.has(addr.toString())) {
    return 'cloud_metadata'
  }
  const range = addr.range()
  const bytes = addr.toByteArray()
  // Addresses that embed an IPv4 address reach that IPv4 host: classify the embedded one.
  if (range === 'ipv4Mapped' || range === 'rfc6145') return classifyV4(embeddedV4(bytes, 12))
  if (range === 'rfc6052') {
    return addr.match(localNat64) ? 'private' : classifyV4(embeddedV4(bytes, 12))
  }
  if (range === '6to4') return classifyV4(embeddedV4(bytes, 2))
  const cls = ipv6Classes[range] ?? 'reserved'
  if (cls === 'public' && !addr.match(globalUnicast)) return 'reserved'
  return cls
}

const dottedTail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/

/** Parse a strict IP literal (zone id ignored), or undefined. */
function parseIp(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const zone = address.indexOf('%')
  let bare = zone === -1 ? address : address.slice(0, zone)
  const family = isIP(bare)
  if (family === 0) return undefined
  // ipaddr.js reads `::a.b.c.d` (IPv4-compatible, RFC 4291 §2.5.5.1) as IPv4-mapped; spell the
  // tail in hex so the two stay distinct.
  if (family === 6) {
    bare = bare.replace(dottedTail, (_m, a: string, b: string, c: string, d: string) => {
      const hi = (Number(a) << 8) | Number(b)
      const lo = (Number(c) << 8) | Number(d)
      return `${hi.toString(16)}:${lo.toString(16)}`
    })
  }
  return ipaddr.parse(bare)
}

/**
 * Classify an IP address given in canonical text form (as DNS answers and WHATWG-parsed URL
 * hosts are). Anything that is not a plain IPv4/IPv6 literal is `invalid`. Pure: no I/O.
 */
export function classifyAddress(address: string): AddressClass {
  const parsed = parseIp(address)
  if (parsed === undefined) return 'invalid'
  if (parsed.kind() === 'ipv4') return classifyV4(parsed as ipaddr.IPv4)
  return classifyV6(parsed as ipaddr.IPv6)
}

/** True when an outbound fetch must not connect to `address` (see {@link classifyAddress}). */
export function isForbiddenAddress(address: string): boolean {
  return classifyAddress(address) !== 'public'
}

/** Decides whether one concrete address may be connected to. */
export type AddressPolicy = (address: string) => boolean

/**
 * Build the address policy: everything when `allowPrivate`, otherwise only public addresses
 * plus the explicitly allowed CIDR ranges (for operators whose wallet address servers live on
 * a private network, e.g. a docker network, without opening up cloud metadata endpoints).
 * Throws on a malformed CIDR so a configuration error is loud.
 */
export function createAddressPolicy(opts: {
  allowPrivate: boolean
  allowedCidrs?: readonly string[]
}): AddressPolicy {
  if (opts.allowPrivate) return () => true
  const ranges = (opts.allowedCidrs ?? []).map((cidr) => ipaddr.parseCIDR(cidr))
  return (address) => {
    const cls = classifyAddress(address)
    if (cls === 'public') return true
    let parsed = parseIp(address)
    if (parsed === undefined || ranges.length === 0) return false
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      parsed = (parsed as ipaddr.IPv6).toIPv4Address()
    }
    return ranges.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits))
  }
}
