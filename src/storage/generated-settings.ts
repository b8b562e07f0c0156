import type { Db } from './db.js'

/**
 * Settings a development start may generate (secrets, the operator tenant id), kept in the
 * database so every process on it, and every later start, agrees on them. The first writer
 * wins; `created` lists what this call generated, so it is printed exactly once.
 */
export async function resolveGeneratedSettings(
  db: Db,
  names: readonly string[],
  generate: (name: string) => string
): Promise<{ values: Map<string, string>; created: string[] }> {
  const values = new Map<string, string>()
  const created: string[] = []
  for (const name of names) {
    const inserted = await db.query<{ value: string }>(
      `insert into generated_settings (name, value) values ($1, $2)
       on conflict (name) do nothing returning value`,
      [name, generate(name)]
    )
    if (inserted.rows[0]) {
      values.set(name, inserted.rows[0].value)
      created.push(name)
      continue
    }
    const existing = await db.query<{ value: string }>(
      'select value from generated_settings where name = $1',
      [name]
    )
    values.set(name, existing.rows[0]!.value)
  }
  return { values, created }
}

/** Every setting generated so far, by name (`opas secrets show`). */
export async function readGeneratedSettings(db: Db): Promise<Map<string, string>> {
  const table = await db.query<{ exists: boolean }>(
    "select to_regclass('generated_settings') is not null as exists"
  )
  if (!table.rows[0]?.exists) return new Map() // never started on this database
  const { rows } = await db.query<{ name: string; value: string }>(
    `select name, value from generated_settings order by name`
  )
  return new Map(rows.map((r) => [r.name, r.value]))
}
