import { parse as parseDotenv } from 'dotenv'
import type { SettingSpec } from './setting-spec.js'
import { variableNames } from './setting-spec.js'
import { defaultEnvFile } from './settings-server.js'

/** A raw value found for a setting, with where it came from (for precise error messages). */
export interface RawSetting {
  /** The variable that supplied it (e.g. DATABASE_URL when AUTH_DATABASE_URL was unset). */
  variable: string
  raw: string
  /** The dotenv file it was read from; undefined when it came from the real environment. */
  file: string | undefined
}

/** The real environment layered over the dotenv file, as the loader consults it. */
export interface EnvSource {
  /** The dotenv file that was consulted (whether or not it existed). */
  readonly envFile: string
  /** The first non-empty value among the setting's variables, or undefined when unset. */
  lookup(spec: SettingSpec<unknown>): RawSetting | undefined
}

/** Rafiki treats an empty variable as unset (`FOO=` in compose files is common), and so do we. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * Reads ENV_FILE (default `.env`) through `readFile` and layers `env` over it. A missing default
 * file is normal; a missing file that ENV_FILE names explicitly is almost certainly a mistake,
 * so it is reported as a problem rather than silently ignored.
 */
export function openEnvSource(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string | undefined,
  envVariable: string,
  problems: string[]
): EnvSource {
  const explicit = nonEmpty(env[envVariable])
  const envFile = explicit ?? defaultEnvFile
  const contents = readFile(envFile)
  if (contents === undefined && explicit !== undefined) {
    problems.push(`${envVariable}: file ${JSON.stringify(envFile)} was not found`)
  }
  const fileValues: Record<string, string> = contents === undefined ? {} : parseDotenv(contents)

  return {
    envFile,
    lookup(spec) {
      // Variable priority comes first (AUTH_DATABASE_URL in the file beats DATABASE_URL in the
      // environment); within one variable, the real environment beats the file.
      for (const variable of variableNames(spec)) {
        const fromEnv = nonEmpty(env[variable])
        if (fromEnv !== undefined) return { variable, raw: fromEnv, file: undefined }
        if (spec.environmentOnly) continue
        const fromFile = nonEmpty(fileValues[variable])
        if (fromFile !== undefined) return { variable, raw: fromFile, file: envFile }
      }
      return undefined
    }
  }
}
