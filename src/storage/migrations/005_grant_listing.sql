-- Operators list grants newest first, in (created_at, id) order, across tenants or for one, and
-- find them by the wallet address of an access item (admin API, CLI): keyset paging then reads
-- only the rows of the page, however many grants are kept. The composite indexes replace the
-- single-column ones, which they also serve (retention's created_at range, tenant lookups).
drop index grants_tenant_id_idx;
create index grants_tenant_created_idx on grants (tenant_id, created_at, id);
drop index grants_created_at_idx;
create index grants_created_idx on grants (created_at, id);
drop index accesses_identifier_idx;
create index accesses_identifier_grant_idx on accesses (identifier, grant_id);
