import type { LookupAddress, LookupOptions } from 'node:dns'
import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupFunction } from 'node:net'
import { buildConnector } from 'undici'
import type { AddressPolicy } from './address-policy.js'

/** One DNS answer, as node:dns `lookup` with `all: true` returns it. */
export interface ResolvedAddress {
  address: string
  family: number
}

/** Resolves a host name to every address it may connect to. Injectable so tests need no DNS. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

/** The system resolver (getaddrinfo through node:dns `lookup`, every address). */
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true })

/** Raised from inside the connection attempt when a destination address is refused. */
export class ForbiddenAddressError extends Error {
  readonly code = 'ERR_OPAS_FORBIDDEN_ADDRESS'
  readonly host: string
  readonly address: string

  constructor(host: string, address: string) {
    super(`refusing to connect to ${host} (${address})`)
    this.name = 'ForbiddenAddressError'
    this.host = host
    this.address = address
  }
}

/**
 * A `net.connect` lookup that refuses the whole answer when ANY resolved address is refused by
 * the policy. Because the socket connects to exactly the addresses handed back here, there is
 * no window between check and connect for a DNS answer to change (DNS rebinding).
 */
export function createGuardedLookup(policy: AddressPolicy, resolve: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolve(hostname).then(
      (answers) => {
        for (const { address } of answers) {
          if (!policy(address)) return callback(new ForbiddenAddressError(hostname, address), '')
        }
        const wanted =
          options.family === 4 || options.family === 6
            ? answers.filter((a) => a.family === options.family)
            : answers
        const first = wanted[0]
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`no usable address for ${hostname}`)
          err.code = 'ENOTFOUND'
          return callback(err, '')
        }
        if (options.all === true) {
          const all: LookupAddress[] = wanted.map((a) => ({ address: a.address, family: a.family }))
          return callback(null, all)
        }
        return callback(null, first.address, first.family)
      },
      (err: NodeJS.ErrnoException) => callback(err, '')
    )
  }
}

/**
 * An undici connector that resolves through the guarded lookup and, as a second line of
 * defence, re-checks the peer address of the established socket (this also covers IP-literal
 * hosts, for which node skips the lookup; callers check those before connecting).
 */
export function createGuardedConnector(opts: {
  policy: AddressPolicy
  resolve: Resolver
  connectTimeoutMs: number
}): buildConnector.connector {
  const base = buildConnector({
    lookup: createGuardedLookup(opts.policy, opts.resolve),
    timeout: opts.connectTimeoutMs
  })
  return (options, callback) => {
    base(options, (err, socket) => {
      if (err !== null) return callback(err, null)
      const remote = socket.remoteAddress
      if (remote === undefined || !opts.policy(remote)) {
        socket.destroy()
        return callback(new ForbiddenAddressError(options.hostname, remote ?? 'unknown'), null)
      }
      return callback(null, socket)
    })
  }
}
