import { randomBytes } from 'node:crypto'
import type { Db } from '../src/storage/db.js'
import { migrate } from '../src/storage/migrate.js'

// Set-based inserts, one batch of grants per transaction: a million grants take minutes. Every
// statement derives a grant's id from (salt, i), so the access, token and interaction rows of
// grant i find it without a round trip. URLs in the stored rows point at 127.0.0.1:9 (discard):
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

const GRANTS = `
insert into grants (id, tenant_id, state, finalization_reason, start_method, continue_id,
  continue_token_hash, finish_method, finish_uri, client_nonce, grant_uri, client, client_name,
  last_continued_at, created_at, updated_at)
select md5($3::text || ':g:' || i)::uuid, $4::uuid,
  case when pending then 'PENDING' else 'FINALIZED' end,
  case when pending then null when i % 50 = 7 then 'REVOKED' else 'ISSUED' end,
  case when pending then array['redirect'] end,
  gen_random_uuid(),
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
select gen_random_uuid(), md5($3::text || ':g:' || i)::uuid, pos,
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
select gen_random_uuid(), g.id,
  sha256(convert_to($3::text || ':t:' || i || ':' || n || ':' || random(), 'UTF8')),
  gen_random_uuid(), 600,
  case when n < 1 + i % 3 or i % 7 = 0 or i % 50 = 7 then g.created_at + make_interval(secs => n) end,
  g.created_at + make_interval(secs => n - 1)
from generate_series($1::int, $2::int) as i
join grants g on g.id = md5($3::text || ':g:' || i)::uuid
cross join lateral generate_series(1, 1 + i % 3) as n
where i % 20 <> 0`

const INTERACTIONS = `
insert into interactions (id, grant_id, ref, nonce, state, expires_in)
select gen_random_uuid(), md5($3::text || ':g:' || i)::uuid, gen_random_uuid(),
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
  const batch = options.batchSize ?? 50_000
  for (let from = 1; from <= options.count; from += batch) {
    if (options.interrupted()) throw new Error('interrupted during prefill')
    const to = Math.min(options.count, from + batch - 1)
    await db.transaction(async (tx) => {
      await tx.query(GRANTS, [from, to, salt, options.tenantId, options.grantUri])
      for (const sql of [ACCESSES, TOKENS, INTERACTIONS]) await tx.query(sql, [from, to, salt])
    })
    if (options.count > batch) {
      const s = ((performance.now() - started) / 1000).toFixed(0)
      progress(`prefill: ${to} of ${options.count} grants (${s} s)`)
    }
  }
  // Fresh statistics, so the planner treats the big tables as what they now are.
  await db.exec('analyze')
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
