// The public face of src/config: the rest of opas imports from here, never from the parts.
export type {
  Config,
  CookieSameSite,
  GeneratableSetting,
  LogLevel,
  NodeEnv,
  ResourceServerEntry
} from './config-types.js'
export { cookieSameSiteValues, generatableSettings, logLevels, nodeEnvs } from './config-types.js'
export type { LoadedConfig } from './load-config.js'
export { ConfigError, loadConfig } from './load-config.js'
export { renderConfigReference } from './config-docs.js'
export { serviceApiWarnings } from './listener-checks.js'
export { redactConfig, redacted, redactUrlPassword } from './redact-config.js'
export type { ConfigSchema, SettingOrigin, SettingSpec } from './setting-spec.js'
export { configSchema } from './config-schema.js'
