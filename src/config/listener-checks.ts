import { isLoopbackHost, mayShareSocket } from './bind-address.js'
import { configSchema } from './config-schema.js'
import type { Config } from './config-types.js'

/**
 * Who can reach each listener, checked once at start (architecture rule 12): the ports and bind
 * addresses must not collide, and the service API, which can create, change and delete every
 * tenant (the operator's included), must not be open to the network by accident.
 */

/** Each listener's port and bind address settings. */
const listenerSettings = [
  { port: 'authPort', host: 'authListenHost' },
  { port: 'introspectionPort', host: 'introspectionListenHost' },
  { port: 'interactionPort', host: 'interactionListenHost' },
  { port: 'adminPort', host: 'adminListenHost' },
  { port: 'serviceApiPort', host: 'serviceApiListenHost' }
] as const

const env = (key: keyof Config) => configSchema[key].env

/**
 * The rules on listeners. `invalid` holds the settings already reported as unparsable: a rule
 * that would judge their stand-in default instead stays silent.
 */
export function checkListeners(
  config: Partial<Config>,
  production: boolean,
  invalid: ReadonlySet<keyof Config>,
  problems: string[]
): void {
  checkPorts(config, problems)
  checkServiceApiAuth(config, production, invalid, problems)
}

/** Two listeners on one port cannot both start, unless each binds its own IP address. */
function checkPorts(config: Partial<Config>, problems: string[]): void {
  const seen: { port: number; host: string; key: keyof Config; hostKey: keyof Config }[] = []
  for (const { port: key, host: hostKey } of listenerSettings) {
    const port = config[key]
    const host = config[hostKey]
    // Port 0 means "any free port", so several listeners may ask for it.
    if (port === undefined || port === 0 || host === undefined) continue
    const other = seen.find((s) => s.port === port && mayShareSocket(s.host, host))
    seen.push({ port, host, key, hostKey })
    if (other === undefined) continue
    const both = `${env(other.key)} and ${env(key)} are both ${port}`
    problems.push(
      other.host === host
        ? `${both}: every listener needs its own port`
        : `${both} on addresses that overlap (${env(other.hostKey)}=${other.host}, ` +
            `${env(hostKey)}=${host}): two listeners share a port only on two distinct IP ` +
            'addresses, neither of them 0.0.0.0, :: or a host name'
    )
  }
}

/**
 * SERVICE_API_AUTH=none with a secret is a contradiction. In production, a service API beyond
 * loopback needs SERVICE_API_SECRET, or SERVICE_API_AUTH=none to say the network is private.
 */
function checkServiceApiAuth(
  config: Partial<Config>,
  production: boolean,
  invalid: ReadonlySet<keyof Config>,
  problems: string[]
): void {
  const secret = env('serviceApiSecret')
  const mode = env('serviceApiAuth')
  if (config.serviceApiAuth === 'none' && config.serviceApiSecret !== undefined) {
    problems.push(
      `${mode}=none and ${secret} are both set: with none, the service API takes calls ` +
        `without the secret. Unset ${secret}, or ${mode}`
    )
  }
  const host = config.serviceApiListenHost
  if (
    production &&
    config.serviceApiAuth === 'secret' &&
    config.serviceApiSecret === undefined &&
    host !== undefined &&
    !isLoopbackHost(host) &&
    !invalid.has('serviceApiListenHost') &&
    !invalid.has('listenHost') &&
    !invalid.has('serviceApiAuth')
  ) {
    problems.push(
      `${secret} is required when NODE_ENV=production and the service API listens beyond ` +
        `loopback (${env('serviceApiListenHost')}=${host}): anyone who reaches ` +
        `${env('serviceApiPort')} could create, change and delete tenants. Set ${secret}, bind ` +
        `${env('serviceApiListenHost')}=127.0.0.1, or set ${mode}=none on a private network ` +
        "only Rafiki's backend reaches"
    )
  }
}

/**
 * The warnings every start logs about the service API listening on `port`: SERVICE_API_AUTH=none
 * (wherever it listens), or no secret beyond loopback (which only a development start allows).
 * Logged on every start, not once: an open door to every tenant is not a one-time notice.
 */
export function serviceApiWarnings(config: Config, port: number): string[] {
  const host = config.serviceApiListenHost
  const hostEnv = env('serviceApiListenHost')
  const anyone = isLoopbackHost(host)
    ? `any process on this host that reaches port ${port}`
    : `anyone who reaches port ${port} on ${host}`
  const harm = "can create, change and delete tenants, the operator's included"
  if (config.serviceApiAuth === 'none') {
    return [
      `the service API accepts unauthenticated calls (${env('serviceApiAuth')}=none): ` +
        `${anyone} ${harm}. Keep it on a private network that only Rafiki's backend reaches`
    ]
  }
  if (config.serviceApiSecret === undefined && !isLoopbackHost(host)) {
    return [
      `the service API (port ${port}) listens on ${host} without ${env('serviceApiSecret')}: ` +
        `anyone who reaches this port ${harm}. Set ${env('serviceApiSecret')}, or ` +
        `${hostEnv}=127.0.0.1`
    ]
  }
  return []
}
