import ipaddr from 'ipaddr.js'
import { isIP } from 'node:net'

/**
 * What a listener's bind address (LISTEN_HOST, *_LISTEN_HOST) exposes, judged from the setting
 * alone (nothing is resolved). Host names other than `localhost` may resolve to anything, so they
 * count as reachable beyond loopback and as overlapping every other address: the safe side.
 */

/** The address as Node binds it, IPv4-mapped IPv6 as IPv4; undefined for a host name. */
function literalAddress(host: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (isIP(host) === 0) return undefined
  const address = ipaddr.parse(host)
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress()
    ? address.toIPv4Address()
    : address
}

/**
 * True when only this host's own processes can connect: `localhost`, 127.0.0.0/8 or ::1 (also
 * IPv4-mapped). `0.0.0.0`, `::` and every other address or name reach beyond loopback.
 */
export function isLoopbackHost(host: string): boolean {
  if (/^localhost\.?$/i.test(host)) return true
  return literalAddress(host)?.range() === 'loopback'
}

/**
 * Whether two listeners binding the same port on these hosts may collide: always, unless both
 * are distinct IP addresses, neither the wildcard (`0.0.0.0`, `::`), which takes the port on every
 * address.
 */
export function mayShareSocket(a: string, b: string): boolean {
  const first = literalAddress(a)
  const second = literalAddress(b)
  if (first === undefined || second === undefined) return true
  if (first.range() === 'unspecified' || second.range() === 'unspecified') return true
  return (
    first.kind() === second.kind() && first.toNormalizedString() === second.toNormalizedString()
  )
}
