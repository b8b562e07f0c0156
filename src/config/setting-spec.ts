import type { Config, NodeEnv } from './config-types.js'
import type { ValueParser } from './value-parsers.js'

/** Where a setting comes from: Rafiki's auth service (same name and default) or new in opas. */
export type SettingOrigin = 'rafiki' | 'opas'

/**
 * What a computed default may depend on. Kept to settings whose own defaults are fixed, so the
 * loader can resolve them first without any ordering puzzle.
 */
export interface DefaultContext {
  nodeEnv: NodeEnv
  authPort: number
  introspectionPort: number
  /** LISTEN_HOST, which each listener's own bind address defaults to. */
  listenHost: string
  /** No database URL: opas runs its embedded database. */
  embeddedDatabase: boolean
}

/** The declaration of one setting: everything the loader, the docs and the redactor need. */
export interface SettingSpec<T> {
  /** The environment variable that sets it. */
  env: string
  /** Further variables read, in order, when `env` is unset (e.g. DATABASE_URL after AUTH_DATABASE_URL). */
  fallbackEnv?: readonly string[]
  /** Parses a non-empty raw value; an empty string never reaches it (it means unset). */
  parser: ValueParser<Exclude<T, undefined>>
  /** Value when unset; a function when it depends on the context (NODE_ENV, LISTEN_HOST, ...). */
  default: T | ((context: DefaultContext) => T)
  /** How a computed default reads in the reference table (a fixed default is rendered as is). */
  defaultText?: string
  /** One or two sentences for an operator: what it does and why one would change it. */
  description: string
  /** Rafiki-compatible or new to opas; rendered in the reference table. */
  origin: SettingOrigin
  /** Never printed: `redactConfig` replaces the value and load errors omit it. */
  secret?: boolean
  /** A URL that may embed a password, which `redactConfig` masks. */
  urlWithCredentials?: boolean
  /** Unset is a problem when NODE_ENV=production (the development default would be wrong there). */
  requiredInProduction?: boolean
  /**
   * A generatable setting needed only beside another: unset, it is generated (and required in
   * production) only when that one is set.
   */
  generatedOnlyWith?: keyof Config
  /** Read from the real environment only: the dotenv file cannot choose which file is read. */
  environmentOnly?: boolean
}

/** A slice of the schema: one correctly typed declaration per listed Config key. */
export type SettingsOf<K extends keyof Config> = { [P in K]: SettingSpec<Config[P]> }

/** The whole schema: exactly one declaration per Config key, enforced by the type. */
export type ConfigSchema = SettingsOf<keyof Config>

/**
 * The default of `spec` for this context. No setting's value is itself a function, so a
 * function default is always a computed one.
 */
export function resolveDefault<T>(spec: SettingSpec<T>, context: DefaultContext): T {
  const value = spec.default
  return typeof value === 'function' ? (value as (context: DefaultContext) => T)(context) : value
}

/** Every variable name that feeds `spec`, in the order the loader consults them. */
export function variableNames(spec: SettingSpec<unknown>): string[] {
  return [spec.env, ...(spec.fallbackEnv ?? [])]
}
