import { randomBytes } from 'node:crypto'
import type { Db } from '../src/storage/db.js'
import { migrate } from '../src/storage/migrate.js'

// Set-based inserts, one batch of grants per transaction: a million grants take minutes. Every
// statement derives a grant's id from (salt, i), so the access, token and interaction rows of
// grant i find it without a round trip. The ids have opas' layout (UUIDv7, migration 002): their
// first 48 bits count up in milliseconds from 40 days ago, so the stored rows sit to the left of
// every id opas generates during the run, as an older deployment's rows do. URLs in the stored rows point at 127.0.0.1:9 (discard):
// nothing ever fetches them, and if something did, it would stay on this machine.
//
// The mix, by grant number i:
//   i % 20 = 0   PENDING interactive grant (redirect + finish), outgoing-payment access with
//                limits, one PENDING interaction, no token;
//   i % 50 = 7   FINALIZED/REVOKED, every token revoked;
//   otherwise    FINALIZED/ISSUED;
//   1 or 2 access rows (incoming-payment, quote, outgoing-payment with limits);
//   1 to 3 tokens per issued grant: all but the last rotated (revoked); the last revoked when
//   i % 7 = 0, live when the grant is recent (i % 10 = 1, created in the last 5 minutes), else
//   expired (created up to 30 days ago, expires_in 600).

// Grant i's id: md5 bits under a 48-bit millisecond prefix (parameter `epoch` + i), version
// nibble 7 as in opas_uuid_v7().
const grantId = (
  epoch: string
) => `encode(set_byte(overlay(decode(md5($3::text || ':g:' || i), 'hex')
  placing substring(int8send(${epoch}::bigint + i) from 3) from 1 for 6), 6, 112), 'hex')::uuid`

const GRANTS = `
insert into grants (id, tenant_id, state, finalization_reason, start_method, continue_id,
  continue_token_hash, finish_method, finish_uri, client_nonce, grant_uri, client, client_name,
  last_continued_at, created_at, updated_at)
select ${grantId('$6')}, $4::uuid,
  case when pending then 'PENDING' else 'FINALIZED' end,
  case when pending then null when i % 50 = 7 then 'REVOKED' else 'ISSUED' end,
  case when pending then array['redirect'] end,
  opas_uuid_v7(),
  sha256(convert_to($3::text || ':c:' || i || ':' || random(), 'UTF8')),
  case when pending then 'redirect' end,
  case when pending then 'http://127.0.0.1:9/prefill/finish?n=' || i end,
  case when pending then upper(md5($3::text || ':cn:' || i)) end,
  $5::text,
  'http://127.0.0.1:9/prefill/client-' || (i % 1000),
  case when pending then 'Prefill Client ' || (i % 1000) end,
  at, at, at
from (
  select i, i % 20 = 0 as pending,
    now() - make_interval(secs => case when i % 10 = 1 then i % 300
                                       else (i::bigint * 7919) % 2592000 end) as at
  from generate_series($1::int, $2::int) as i
) s`

const ACCESSES = `
insert into accesses (id, grant_id, position, type, actions, identifier, limits)
select opas_uuid_v7(), ${grantId('$4')}, pos,
  case when outgoing then 'outgoing-payment' when i % 3 = 0 then 'quote' else 'incoming-payment' end,
  case when outgoing then array['create', 'read', 'list']
       when i % 3 = 0 then array['create', 'read'] else array['create', 'read', 'list'] end,
  case when outgoing or i % 3 = 1 then 'http://127.0.0.1:9/prefill/account-' || i end,
  case when outgoing then jsonb_build_object(
    'debitAmount', jsonb_build_object('value', (i % 100000)::text, 'assetCode', 'USD', 'assetScale', 2),
    'interval', 'R/2025-01-01T00:00:00Z/P1M') end
from (
  select i, pos, pos = 2 or i % 20 = 0 as outgoing
  from generate_series($1::int, $2::int) as i
  cross join lateral generate_series(1, 1 + i % 2) as pos
) s`

const TOKENS = `
insert into access_tokens (id, grant_id, value_hash, management_id, expires_in, revoked_at, created_at)
select opas_uuid_v7(), g.id,
  sha256(convert_to($3::text || ':t:' || i || ':' || n || ':' || random(), 'UTF8')),
  opas_uuid_v7(), 600,
  case when n < 1 + i % 3 or i % 7 = 0 or i % 50 = 7 then g.created_at + make_interval(secs => n) end,
  g.created_at + make_interval(secs => n - 1)
from generate_series($1::int, $2::int) as i
join grants g on g.id = ${grantId('$4')}
cross join lateral generate_series(1, 1 + i % 3) as n
where i % 20 <> 0`

const INTERACTIONS = `
insert into interactions (id, grant_id, ref, nonce, state, expires_in)
select opas_uuid_v7(), ${grantId('$4')}, gen_random_uuid(),
  upper(md5($3::text || ':n:' || i)), 'PENDING', 600
from generate_series($1::int, $2::int) as i
where i % 20 = 0`

export interface PrefillResult {
  grants: number
  accesses: number
  tokens: number
  interactions: number
  seconds: number
}

/**
 * Migrates `db` with the project's migrations and inserts `count` grants of the operator tenant
 * (created here when missing; opas completes it at start). Closes nothing: the caller owns `db`.
 */
export async function prefill(
  db: Db,
  options: {
    count: number
    tenantId: string
    grantUri: string
    batchSize?: number
    interrupted: () => boolean
  },
  progress: (line: string) => void
): Promise<PrefillResult> {
  const started = performance.now()
  await migrate(db)
  await db.query('insert into tenants (id) values ($1) on conflict (id) do nothing', [
    options.tenantId
  ])
  const salt = randomBytes(8).toString('hex')
  const idEpochMs = Date.now() - 40 * 86_400_000
  const batch = options.batchSize ?? 50_000
  for (let from = 1; from <= options.count; from += batch) {
    if (options.interrupted()) throw new Error('interrupted during prefill')
    const to = Math.min(options.count, from + batch - 1)
    await db.transaction(async (tx) => {
      await tx.query(GRANTS, [from, to, salt, options.tenantId, options.grantUri, idEpochMs])
      for (const sql of [ACCESSES, TOKENS, INTERACTIONS]) {
        await tx.query(sql, [from, to, salt, idEpochMs])
      }
    })
    if (options.count > batch) {
      const s = ((performance.now() - started) / 1000).toFixed(0)
      progress(`prefill: ${to} of ${options.count} grants (${s} s)`)
    }
  }
  // Measure the steady state, not the bulk load's aftermath: fresh statistics (so the planner
  // treats the big tables as what they now are), the vacuum that autovacuum would otherwise run
  // on the new rows during the first runs, and a checkpoint that writes the load's dirty pages
  // now rather than while opas is measured. A deployment with this many grants got them over
  // time, and was vacuumed and checkpointed along the way.
  progress('prefill: vacuum analyze and checkpoint')
  await db.exec('vacuum analyze')
  await db.exec('checkpoint')
  const { rows } = await db.query<Record<string, number>>(
    `select (select count(*) from grants)::int as grants,
       (select count(*) from accesses)::int as accesses,
       (select count(*) from access_tokens)::int as tokens,
       (select count(*) from interactions)::int as interactions`
  )
  const counts = rows[0] ?? {}
  return {
    grants: counts.grants ?? 0,
    accesses: counts.accesses ?? 0,
    tokens: counts.tokens ?? 0,
    interactions: counts.interactions ?? 0,
    seconds: (performance.now() - started) / 1000
  }
}
