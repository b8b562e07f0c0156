import type { OutgoingLimits } from '../gnap/access.js'

/*
 * The access rights of grants (RFC 9635 §8), in the `accesses` table: written with their grant,
 * read back by the grant's continuation, its tokens' rotation and introspection. Their own
 * module, so that the grant and token domains both build on it without depending on each other.
 */

/**
 * SQL for a grant's access items as a JSON array in request order (null when it has none);
 * `grantId` is an SQL expression.
 */
export function accessJsonSql(grantId: string): string {
  return `(select json_agg(json_build_object('type', a.type, 'actions', a.actions,
     'identifier', a.identifier, 'limits', a.limits) order by a.position)
   from accesses a where a.grant_id = ${grantId})`
}

/**
 * An `insert into accesses` for a CTE: the access items in the jsonb parameter `items`, in
 * order, for each grant id the CTE `grant` returns.
 */
export function insertAccessesSql(grant: string, items: string): string {
  return `insert into accesses (id, grant_id, position, type, actions, identifier, limits)
  select opas_uuid_v7(), ${grant}.id, x.pos, x.item->>'type',
    array(select jsonb_array_elements_text(x.item->'actions')), x.item->>'identifier', x.item->'limits'
  from ${grant}, jsonb_array_elements(${items}::jsonb) with ordinality as x(item, pos)`
}

export interface AccessRow {
  type: string
  actions: string[]
  identifier: string | null
  limits: OutgoingLimits | null
}
