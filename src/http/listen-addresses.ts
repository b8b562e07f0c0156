import { createServer } from 'node:net'

/**
 * Where a listener binds, with the settings that say so: a port that cannot be bound is reported
 * as the operator set it (`AUTH_PORT=6106 is in use`), not as the system's EADDRINUSE.
 */
export interface ListenAddress {
  host: string
  port: number
  portSetting: string
  hostSetting: string
}

/** A listener's address cannot be bound: the message names the setting and what to do. */
export class ListenAddressError extends Error {}

/** What a failed bind means for the operator; undefined for an error that is not about it. */
export function bindFailure(address: ListenAddress, err: unknown): ListenAddressError | undefined {
  const { host, port, portSetting, hostSetting } = address
  switch ((err as { code?: unknown } | null)?.code) {
    case 'EADDRINUSE':
      return new ListenAddressError(
        `${portSetting}=${port} is in use on ${host} (${hostSetting}): another program, or ` +
          `another opas, listens there. Stop it, or set ${portSetting} to a free port`
      )
    case 'EACCES':
      return new ListenAddressError(
        `${portSetting}=${port} may not be bound by this user (ports below 1024 need ` +
          `privileges): set ${portSetting} to 1024 or above and map the port in front of opas`
      )
    case 'EADDRNOTAVAIL':
      return new ListenAddressError(
        `${hostSetting}=${host} is not an address of this machine: set it to one of its ` +
          'addresses, or 0.0.0.0 for all of them'
      )
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenAddressError(`${hostSetting}=${host} is not a host name this machine knows`)
    default:
      return undefined
  }
}

function probe(address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (err) => reject(bindFailure(address, err) ?? err))
    server.listen({ host: address.host, port: address.port, exclusive: true }, () =>
      server.close(() => resolve())
    )
  })
}

/**
 * Binds each address and lets it go again, so that a start refused for a port in use is refused
 * before it creates anything (the data directory, the embedded database, generated settings).
 * A port taken in the moment between this check and the real bind is still reported by
 * bindFailure then. Port 0 asks for any free port: nothing to check.
 */
export async function checkListenAddresses(addresses: readonly ListenAddress[]): Promise<void> {
  for (const address of addresses) if (address.port !== 0) await probe(address)
}
