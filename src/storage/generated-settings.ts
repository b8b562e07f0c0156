import { createHash } from 'node:crypto'
import { dirname, join } from 'node:path'
import type { Db } from './db.js'
import { ensurePrivateFolder, readPrivateFile, writePrivateFile } from './private-files.js'

/**
 * Settings a development start may generate (the operator tenant id and secrets). Their values
 * are kept in DATA_DIR/generated.env, a file only opas's user may read, and never in the database:
 * TENANT_SECRETS_KEY seals the tenant secrets the database holds and COOKIE_KEY signs sessions
 * it keeps, so a copy of the database (a backup, another user of the server) must not carry the
 * keys too. The database keeps a SHA-256 fingerprint of each, so every process on it agrees or is
 * refused, and when the values were first shown, so a first start that failed before listening
 * shows them again at the next.
 *
 * With `DATA_DIR=memory://` the values live as long as the process (as does the database).
 */

export class GeneratedSettingsMismatchError extends Error {}

/** The file of generated values; undefined for memory:// (kept by the process alone). */
export const generatedSettingsFile = (dataDir: string): string | undefined =>
  dataDir === 'memory://' ? undefined : join(dataDir, 'generated.env')

const FILE_HEADER =
  "# Settings opas generated (development only). Only opas's user may read this file.\n" +
  '# Keep it with the data: the database holds what these keys protect, but not the keys.\n'

const inMemory = new Map<string, string>()

/** `NAME=value` lines, by setting name (configSchema names) in this file's own words. */
function parse(text: string): Map<string, string> {
  const values = new Map<string, string>()
  for (const line of text.split('\n')) {
    const found = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line.trim())
    if (found) values.set(found[1]!, found[2]!)
  }
  return values
}

function readValues(file: string | undefined): Map<string, string> {
  if (file === undefined) return new Map(inMemory)
  const text = readPrivateFile(file, 'the generated settings file')
  return text === undefined ? new Map() : parse(text)
}

function writeValues(file: string | undefined, values: Map<string, string>): void {
  if (file === undefined) {
    for (const [name, value] of values) inMemory.set(name, value)
    return
  }
  ensurePrivateFolder(dirname(file), 'DATA_DIR')
  const lines = [...values].map(([name, value]) => `${name}=${value}`)
  writePrivateFile(file, `${FILE_HEADER}${lines.join('\n')}\n`)
}

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex')

// Any constant: the same in every opas process on the database.
const GENERATED_SETTINGS_LOCK = 7_206_351_002

interface Row {
  name: string
  value: string | null
  fingerprint: string | null
  announced: boolean
}

/**
 * The values of `names`, generated where neither the file nor the database knows one. `unshown`
 * lists those never shown (a start shows them once it listens: claimShowing). One
 * transaction under an advisory lock, so processes starting together generate once; the file is
 * written before the fingerprints commit, so a crash between leaves values the next start
 * fingerprints, never fingerprints without values.
 */
export async function resolveGeneratedSettings(
  db: Db,
  file: string | undefined,
  names: readonly string[],
  generate: (name: string) => string
): Promise<{ values: Map<string, string>; unshown: string[] }> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [GENERATED_SETTINGS_LOCK])
    const { rows } = await tx.query<Row>(
      `select name, value, fingerprint, announced_at is not null as announced
       from generated_settings`
    )
    const stored = readValues(file)
    let changed = false
    // Values an earlier version kept in the database move to the file.
    for (const row of rows) {
      if (row.value !== null && !stored.has(row.name)) {
        stored.set(row.name, row.value)
        changed = true
      }
    }
    const byName = new Map(rows.map((row) => [row.name, row]))
    const values = new Map<string, string>()
    for (const name of names) {
      const row = byName.get(name)
      let value = stored.get(name)
      if (value === undefined && row?.fingerprint) throw mismatch(name, file, 'has no value for')
      if (value === undefined) {
        value = generate(name)
        stored.set(name, value)
        changed = true
      }
      if (row?.fingerprint && row.fingerprint !== fingerprint(value)) {
        throw mismatch(name, file, 'holds another value of')
      }
      values.set(name, value)
    }
    if (changed) writeValues(file, stored)
    for (const [name, value] of values) {
      await tx.query(
        `insert into generated_settings (name, value, fingerprint) values ($1, null, $2)
         on conflict (name) do update set fingerprint = excluded.fingerprint`,
        [name, fingerprint(value)]
      )
    }
    await tx.query('update generated_settings set value = null where value is not null')
    const unshown = names.filter((name) => !byName.get(name)?.announced)
    return { values, unshown }
  })
}

function mismatch(name: string, file: string | undefined, what: string): Error {
  return new GeneratedSettingsMismatchError(
    `this database's generated ${name} was made by another opas process: ` +
      `${file ?? 'this process'} ${what} it. Copy that process's DATA_DIR/generated.env ` +
      'into this DATA_DIR (or use the same DATA_DIR), or set every generated setting in the ' +
      'environment'
  )
}

/**
 * Claims the showing of `names`: answers those no process has shown yet, now recorded as shown,
 * so that of several processes starting together (`--workers`) exactly one shows each.
 */
export async function claimShowing(db: Db, names: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `update generated_settings set announced_at = now()
     where name = any($1) and announced_at is null returning name`,
    [names]
  )
  return names.filter((name) => rows.some((row) => row.name === name))
}

/** Every setting generated so far, by name (`opas secrets show`): the file's, else the database's. */
export async function readGeneratedSettings(
  db: Db,
  file: string | undefined
): Promise<Map<string, string>> {
  const values = readValues(file)
  const table = await db.query<{ exists: boolean }>(
    "select to_regclass('generated_settings') is not null as exists"
  )
  if (!table.rows[0]?.exists) return values // never started on this database
  // An earlier version's values, until the next start moves them.
  const { rows } = await db.query<{ name: string; value: string }>(
    'select name, value from generated_settings where value is not null order by name'
  )
  for (const row of rows) if (!values.has(row.name)) values.set(row.name, row.value)
  return values
}
