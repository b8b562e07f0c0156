import type { Config } from './config-types.js'
import type { ConfigSchema, SettingSpec } from './setting-spec.js'
import { consoleSettings } from './settings-console.js'
import { gnapSettings } from './settings-gnap.js'
import { limitSettings } from './settings-limits.js'
import { securitySettings } from './settings-security.js'
import { serverSettings } from './settings-server.js'
import { storageSettings } from './settings-storage.js'
import { webhookSettings } from './settings-webhooks.js'

/**
 * Every setting of opas, declared once: variable, parser, default, description. The loader, the
 * README reference table and `redactConfig` are all driven by this table, so they cannot drift.
 * Its type demands exactly one entry per `Config` key; the order here is the order of the docs.
 */
export const configSchema: ConfigSchema = {
  ...serverSettings,
  ...storageSettings,
  ...securitySettings,
  ...limitSettings,
  ...gnapSettings,
  ...consoleSettings,
  ...webhookSettings
}

/** The themed slices the schema is assembled from (a test checks they do not overlap). */
export const configSchemaParts = [
  serverSettings,
  storageSettings,
  securitySettings,
  limitSettings,
  gnapSettings,
  consoleSettings,
  webhookSettings
]

/**
 * The schema as a list, in declaration order. The value type is widened to `unknown` because a
 * list cannot keep each key's own type; code that needs it indexes `configSchema[key]` instead.
 */
export function settingEntries(): Array<[keyof Config, SettingSpec<unknown>]> {
  return Object.entries(configSchema) as Array<[keyof Config, SettingSpec<unknown>]>
}
