// `npm run bench:import`: `opas import rafiki` on a generated Rafiki auth database (bench/README.md).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'

const usage = `usage: npm run bench:import -- [--grants N] [--keep-db]

Builds a Rafiki auth database (test/fixtures/rafiki/auth-schema.sql) holding N grants (default
1,000,000) as Rafiki writes them, and an empty opas database beside it, on the PostgreSQL of
DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres); then times
\`opas import rafiki\`: a dry run, the import, then (after 1 % new grants and 1 % of the tokens
revoked in Rafiki) the delta run before a cutover, and a --full run; it prints each run's time
and the peak memory of its process.`

const { values } = parseArgs({
  options: {
    grants: { type: 'string', default: '1000000' },
    'keep-db': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const grants = Number(values.grants)
if (!Number.isInteger(grants) || grants < 1) {
  console.error(`--grants takes a whole number of grants, not ${values.grants}\n\n${usage}`)
  process.exit(2)
}

const base = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const suffix = randomBytes(4).toString('hex')
const names = { source: `opas_bench_rafiki_${suffix}`, target: `opas_bench_opas_${suffix}` }
const urlOf = (database: string) => {
  const url = new URL(base)
  url.pathname = `/${database}`
  return url.href
}
const log = (line: string) => process.stderr.write(`${line}\n`)

/**
 * N grants of one of three tenants, each with an access item (an outgoing payment with limits,
 * every other one) and a live token; every tenth has a token rotated before (revoked), a subject
 * and an interaction; ids derive from the grant's number so children find their grant.
 */
const fillSql = `
insert into "tenants" ("id", "idpConsentUrl", "idpSecret", "apiSecret")
  select md5('tenant' || t)::uuid, 'https://idp.example/consent', 'idp-secret-' || t,
         'api-secret-of-tenant-number-' || t
  from generate_series(1, 3) t;
insert into "grants" ("id", "state", "finalizationReason", "startMethod", "continueToken",
    "continueId", "finishMethod", "finishUri", "clientNonce", "client", "tenantId", "createdAt",
    "updatedAt")
  select md5('grant' || g)::uuid, 'FINALIZED', 'ISSUED', '{redirect}',
         upper(substr(md5('continue' || g), 1, 20)), md5('continue-id' || g)::uuid::text,
         'redirect', 'https://app.example/finish', md5('nonce' || g),
         'https://wallet.example/client-' || (g % 50), md5('tenant' || (1 + g % 3))::uuid,
         now() - interval '1 second' * g, now() - interval '1 second' * g
  from generate_series(1, $1::int) g;
insert into "accesses" ("id", "type", "actions", "identifier", "limits", "grantId",
    "createdAt", "updatedAt")
  select md5('access' || g)::uuid,
         case when g % 2 = 0 then 'outgoing-payment' else 'incoming-payment' end,
         case when g % 2 = 0 then '{create,read}'::text[] else '{create,read,list}'::text[] end,
         'https://wallet.example/alice',
         case when g % 2 = 0 then '{"debitAmount":{"value":"500","assetCode":"USD","assetScale":2}}'::jsonb end,
         md5('grant' || g)::uuid, now() - interval '1 second' * g, now() - interval '1 second' * g
  from generate_series(1, $1::int) g;
insert into "accessTokens" ("id", "value", "managementId", "expiresIn", "grantId", "createdAt",
    "updatedAt")
  select md5('token' || g)::uuid, upper(substr(md5('value' || g), 1, 20)),
         md5('manage' || g)::uuid, 600, md5('grant' || g)::uuid,
         now() - interval '1 second' * g, now() - interval '1 second' * g
  from generate_series(1, $1::int) g;
insert into "accessTokens" ("id", "value", "managementId", "expiresIn", "grantId", "revokedAt",
    "createdAt", "updatedAt")
  select md5('rotated' || g)::uuid, upper(substr(md5('old-value' || g), 1, 20)),
         md5('old-manage' || g)::uuid, 600, md5('grant' || g)::uuid,
         now() - interval '1 second' * g, now() - interval '1 second' * g,
         now() - interval '1 second' * g
  from generate_series(10, $1::int, 10) g;
insert into "subjects" ("id", "grantId", "subId", "subIdFormat", "createdAt", "updatedAt")
  select md5('subject' || g)::uuid, md5('grant' || g)::uuid, 'https://wallet.example/alice', 'uri',
         now() - interval '1 second' * g, now() - interval '1 second' * g
  from generate_series(10, $1::int, 10) g;
insert into "interactions" ("id", "ref", "nonce", "state", "grantId", "expiresIn", "createdAt",
    "updatedAt")
  select md5('interaction' || g)::uuid, md5('ref' || g)::uuid::text, md5('inonce' || g),
         'APPROVED', md5('grant' || g)::uuid, 600,
         now() - interval '1 second' * g, now() - interval '1 second' * g
  from generate_series(10, $1::int, 10) g;
analyze;`

/**
 * What happens in Rafiki between the import and the run before the cutover, as Rafiki writes it
 * (updatedAt stamped): 1 % more grants, each with its access item and token, and 1 % of the
 * tokens revoked.
 */
const changesSql = `
insert into "grants" ("id", "state", "finalizationReason", "continueToken", "continueId",
    "client", "tenantId")
  select md5('new-grant' || g)::uuid, 'FINALIZED', 'ISSUED', upper(substr(md5('new-c' || g), 1, 20)),
         md5('new-continue-id' || g)::uuid::text, 'https://wallet.example/client-' || (g % 50),
         md5('tenant' || (1 + g % 3))::uuid
  from generate_series(1, $1::int / 100) g;
insert into "accesses" ("id", "type", "actions", "identifier", "grantId")
  select md5('new-access' || g)::uuid, 'incoming-payment', '{create,read,list}',
         'https://wallet.example/alice', md5('new-grant' || g)::uuid
  from generate_series(1, $1::int / 100) g;
insert into "accessTokens" ("id", "value", "managementId", "expiresIn", "grantId")
  select md5('new-token' || g)::uuid, upper(substr(md5('new-value' || g), 1, 20)),
         md5('new-manage' || g)::uuid, 600, md5('new-grant' || g)::uuid
  from generate_series(1, $1::int / 100) g;
update "accessTokens" set "revokedAt" = now(), "updatedAt" = now()
  where id in (select md5('token' || g)::uuid from generate_series(7, $1::int, 100) g)`

/**
 * Runs a script on the database `name`: `script` as it is, then each statement of `statements`
 * (split at semicolons) with the grant count as $1 where it uses it.
 */
async function runSql(name: string, statements: string, script = ''): Promise<void> {
  const client = new pg.Client({ connectionString: urlOf(name) })
  await client.connect()
  try {
    if (script) await client.query(script)
    for (const statement of statements.split(';').filter((s) => s.trim() !== '')) {
      await client.query(statement, statement.includes('$1') ? [grants] : [])
    }
  } finally {
    await client.end()
  }
}

/** `opas migrate`, as an operator would before the import. */
function migrate(env: NodeJS.ProcessEnv) {
  return new Promise<void>((resolve, reject) => {
    // Its first run prints the settings it generates: shown only if it fails.
    const child = spawn(process.execPath, ['dist/cli/opas.js', 'migrate'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => (output += chunk.toString()))
    }
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`opas migrate exited with ${code}: ${output}`))
    )
  })
}

/** Runs the CLI, sampling its peak resident memory (VmHWM) until it exits. */
function timeImport(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ seconds: number; peakMb: number; report: unknown }>((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, ['dist/cli/opas.js', 'import', 'rafiki', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let out = ''
    let peakKb = 0
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const sample = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))
      } catch {
        // it has just exited
      }
    }, 100)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearInterval(sample)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      if (code !== 0) reject(new Error(`opas import rafiki exited with ${code}: ${out}`))
      else resolve({ seconds, peakMb: peakKb / 1024, report: JSON.parse(out) })
    })
  })
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  const dataDir = mkdtempSync(join(tmpdir(), 'opas-bench-import-'))
  try {
    for (const name of Object.values(names)) await admin.query(`create database ${name}`)
    const schema = readFileSync(
      new URL('../test/fixtures/rafiki/auth-schema.sql', import.meta.url),
      'utf8'
    )
    const began = Date.now()
    log(`filling a Rafiki database with ${grants} grants…`)
    await runSql(names.source, fillSql, schema)
    log(`filled in ${((Date.now() - began) / 1000).toFixed(0)} s`)
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: urlOf(names.target),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn'
    }
    await migrate(env)
    const from = urlOf(names.source)
    const runs: [string, string[]][] = [
      ['dry run', ['--from', from, '--dry-run', '--json']],
      ['import', ['--from', from, '--json']],
      ['delta', ['--from', from, '--json']],
      ['full', ['--from', from, '--full', '--json']]
    ]
    console.log(`opas import rafiki, ${grants} grants (PostgreSQL ${new URL(base).host})`)
    for (const [name, args] of runs) {
      if (name === 'delta') {
        await runSql(names.source, changesSql)
        log(`in Rafiki meanwhile: 1 % more grants, 1 % of the tokens revoked`)
      }
      const { seconds, peakMb, report } = await timeImport(args, env)
      const tables = (report as { tables: Record<string, { read: number }> }).tables
      const rows = Object.values(tables).reduce((n, t) => n + t.read, 0)
      console.log(
        `${name.padEnd(10)} ${seconds.toFixed(1).padStart(7)} s  ` +
          `${Math.round(rows / seconds)
            .toString()
            .padStart(7)} rows/s  peak RSS ${peakMb.toFixed(0)} MB  (${rows} rows)`
      )
    }
  } finally {
    if (!values['keep-db']) {
      for (const name of Object.values(names)) {
        await admin.query(`drop database if exists ${name} with (force)`)
      }
    } else log(`kept: ${urlOf(names.source)} and ${urlOf(names.target)}`)
    await admin.end()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err))
  process.exitCode = 1
})
