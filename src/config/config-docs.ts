import { settingEntries } from './config-schema.js'
import { generatableSettings } from './config-types.js'
import type { SettingSpec } from './setting-spec.js'
import { variableNames } from './setting-spec.js'

/** A pipe would end the table cell; a newline would end the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ')
}

function code(value: string): string {
  return `\`${value}\``
}

function renderDefault(key: string, spec: SettingSpec<unknown>): string {
  if ((generatableSettings as readonly string[]).includes(key)) {
    return 'generated at first start; required in production'
  }
  const production = spec.requiredInProduction ? '; required in production' : ''
  if (spec.defaultText !== undefined) return spec.defaultText + production
  if (spec.default === undefined) return 'unset' + production
  return code(String(spec.default)) + production
}

function renderDescription(spec: SettingSpec<unknown>): string {
  const origin = spec.origin === 'rafiki' ? '_Rafiki-compatible._' : '_New in opas._'
  const secret = spec.secret
    ? ' Secret: at least 32 characters in production; never logged (when generated, printed once at first start and by `opas secrets show`).'
    : ''
  return `${spec.description} ${origin}${secret}`
}

/**
 * The Markdown reference of every setting (variable, accepted values, default, description),
 * generated from the schema so the README never drifts from what the loader does.
 */
export function renderConfigReference(): string {
  const rows = settingEntries().map(([key, spec]) =>
    [
      variableNames(spec).map(code).join(' or '),
      spec.parser.type,
      renderDefault(key, spec),
      renderDescription(spec)
    ]
      .map(cell)
      .join(' | ')
  )
  const header = ['Variable | Accepts | Default | Description', '--- | --- | --- | ---']
  return [...header, ...rows].map((row) => `| ${row} |`).join('\n') + '\n'
}
