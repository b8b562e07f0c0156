import { configSchema, settingEntries } from './config-schema.js'
import type { Config, GeneratableSetting } from './config-types.js'
import { generatableSettings } from './config-types.js'
import type { RawSetting } from './env-source.js'
import { openEnvSource } from './env-source.js'
import type { DefaultContext } from './setting-spec.js'
import { resolveDefault } from './setting-spec.js'
import { checkListeners } from './listener-checks.js'
import {
  defaultAuthPort,
  defaultIntrospectionPort,
  defaultListenHost,
  defaultNodeEnv
} from './settings-server.js'

/** Configuration that cannot be used. `problems` holds every problem found, not just the first. */
export class ConfigError extends Error {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** Result of `loadConfig`: the config, and the generatable settings the caller must generate. */
export interface LoadedConfig {
  config: Config
  missing: GeneratableSetting[]
}

/** Minimum length of every secret in production (each setting marked `secret`). */
const minProductionSecretLength = 32

function isHttpsOrLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url)
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname)
}

function where(found: RawSetting): string {
  return found.file === undefined ? found.variable : `${found.variable} (in ${found.file})`
}

function setValue<K extends keyof Config>(config: Partial<Config>, key: K, value: Config[K]): void {
  config[key] = value
}

/**
 * Builds the config from `env` (the caller passes `process.env`) and the dotenv file named by
 * ENV_FILE (default `.env`), read through `readFile`, which returns undefined for a missing file.
 * The real environment wins over the file, and an empty string counts as unset, as in Rafiki.
 *
 * Parsing is stricter than Rafiki's: a boolean must be `true`/`false` (any case) or `1`/`0`,
 * where Rafiki read anything but "true" as false; integers are plain decimal digits within the
 * setting's range; URLs, UUIDs and enumerated values are checked. Unknown variables are ignored.
 *
 * Outside production, unset generatable settings are returned in `missing` so the caller can
 * generate, store and print them once. In production they and AUTH_SERVER_URL are required, and
 * IDENTITY_SERVER_URL too unless CONSENT_SCREEN=builtin, and SERVICE_API_SECRET when the service
 * API listens beyond loopback unless SERVICE_API_AUTH=none (listener-checks).
 *
 * @throws ConfigError listing every problem at once, so a deployment is fixed in one round.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string | undefined
): LoadedConfig {
  const problems: string[] = []
  const source = openEnvSource(env, readFile, configSchema.envFile.env, problems)

  // Pass 1: parse whatever is set. Defaults wait until NODE_ENV, AUTH_PORT and LISTEN_HOST are
  // known.
  const given = new Map<keyof Config, unknown>()
  // Set but invalid: reported once here, not again as missing below.
  const invalid = new Set<keyof Config>()
  for (const [key, spec] of settingEntries()) {
    const found = source.lookup(spec)
    if (found === undefined) continue
    const result = spec.parser.parse(found.raw)
    if (result.ok) given.set(key, result.value)
    else {
      invalid.add(key)
      // A secret's value is never echoed: error output ends up in logs.
      const got = spec.secret ? '' : ` (got ${JSON.stringify(found.raw)})`
      problems.push(`${where(found)}: ${result.problem}${got}`)
    }
  }

  // An invalid NODE_ENV, AUTH_PORT, LISTEN_HOST or database URL is already reported; the
  // defaults stand in for it here.
  const context: DefaultContext = {
    nodeEnv: (given.get('nodeEnv') as Config['nodeEnv'] | undefined) ?? defaultNodeEnv,
    authPort: (given.get('authPort') as number | undefined) ?? defaultAuthPort,
    introspectionPort:
      (given.get('introspectionPort') as number | undefined) ?? defaultIntrospectionPort,
    listenHost: (given.get('listenHost') as string | undefined) ?? defaultListenHost,
    embeddedDatabase: !given.has('databaseUrl')
  }
  const production = context.nodeEnv === 'production'

  // Pass 2: fill in defaults and find what production may not leave unset.
  const config: Partial<Config> = {}
  const missing: GeneratableSetting[] = []
  for (const [key, spec] of settingEntries()) {
    if (given.has(key)) {
      setValue(config, key, given.get(key) as Config[typeof key])
      continue
    }
    const generatable =
      (generatableSettings as readonly string[]).includes(key) &&
      (spec.generatedOnlyWith === undefined || given.has(spec.generatedOnlyWith))
    if (invalid.has(key)) {
      // Already reported; the default stands in so that the other checks can run.
    } else if (production && (spec.requiredInProduction || generatable)) {
      const why = generatable ? ' (it is generated only outside production)' : ''
      problems.push(`${spec.env} is required when NODE_ENV=production${why}`)
    } else if (generatable) {
      missing.push(key as GeneratableSetting)
    }
    setValue(config, key, resolveDefault(spec, context) as Config[typeof key])
  }

  checkCrossSettings(config, production, { given, invalid }, problems)
  checkListeners(config, production, invalid, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  // Pass 2 set every schema key, and the schema's type has exactly the keys of Config.
  return {
    config: config as Config,
    missing: generatableSettings.filter((s) => missing.includes(s))
  }
}

/** Rules that involve more than one setting, or a setting and NODE_ENV. */
function checkCrossSettings(
  config: Partial<Config>,
  production: boolean,
  /** What the environment set, and what it set invalidly (reported already). */
  settings: { given: ReadonlyMap<string, unknown>; invalid: ReadonlySet<string> },
  problems: string[]
): void {
  const { given, invalid } = settings
  if (production) {
    // A short secret can be guessed: 32 characters give at least 128 bits from any generator.
    for (const [key, spec] of settingEntries()) {
      const value = config[key]
      if (spec.secret && typeof value === 'string' && value.length < minProductionSecretLength) {
        problems.push(
          `${spec.env} must be at least ${minProductionSecretLength} characters when NODE_ENV=production`
        )
      }
    }
    // Tokens, continuation tokens and the consent cookie cross this URL: TLS outside one host.
    const authServerUrl = config.authServerUrl
    if (authServerUrl !== undefined && !isHttpsOrLoopback(authServerUrl)) {
      problems.push(
        `${configSchema.authServerUrl.env} must be an https:// URL when NODE_ENV=production ` +
          `(http:// only on localhost, 127.0.0.1 or [::1]), got ${JSON.stringify(authServerUrl)}`
      )
    }
    if (config.databaseUrl === undefined && config.allowEmbeddedDatabaseInProduction !== true) {
      problems.push(
        `NODE_ENV=production needs ${configSchema.databaseUrl.env} (PostgreSQL): the embedded ` +
          `database serves one process. To run production on it anyway, set ` +
          `${configSchema.allowEmbeddedDatabaseInProduction.env}=true`
      )
    }
  }

  // Signed introspection needs whom to accept, and the URL they sign (RFC 9421 @target-uri).
  const rsAuth = configSchema.introspectionAuth.env
  const rsList = configSchema.introspectionResourceServers.env
  if (config.introspectionAuth === 'signature') {
    if (
      config.introspectionResourceServers?.length === 0 &&
      !invalid.has('introspectionResourceServers')
    ) {
      problems.push(
        `${rsAuth}=signature needs ${rsList}: the resource servers allowed to introspect, ` +
          'as name=JWKS URL pairs'
      )
    }
    if (!given.has('introspectionUrl')) {
      problems.push(
        `${rsAuth}=signature needs ${configSchema.introspectionUrl.env}: the URL resource ` +
          'servers call and sign'
      )
    }
  } else if ((config.introspectionResourceServers?.length ?? 0) > 0) {
    problems.push(`${rsList} is set but ${rsAuth} is none: set ${rsAuth}=signature to require them`)
  }

  // Without an IdP, a production interaction needs the built-in screen, turned on knowingly.
  if (production && config.identityServerUrl === undefined && config.consentScreen !== 'builtin') {
    problems.push(
      `${configSchema.identityServerUrl.env} is required when NODE_ENV=production ` +
        `(or set ${configSchema.consentScreen.env}=builtin)`
    )
  }
}
