-- What an operator reads of a grant's history (the console's grant page): which token a rotation
-- replaced, when the browser was sent back to the client, and the grants of a client's wallet
-- address. No token value, hash or management id is needed for any of it.

-- The token this one replaced by rotation (RFC 9635 §6.1). No foreign key: retention deletes a
-- spent token while the one that replaced it lives on, and the id then names a token gone.
-- Lookups stay within one grant's tokens (found by access_tokens_grant_id_idx), so no index.
alter table access_tokens add column rotated_from uuid;

-- Rotations before this migration left no link, but their timestamps tell: rotateToken revokes
-- the old token and inserts the new one in one statement, so both take that transaction's now():
-- the new row's created_at equals the old row's revoked_at, in the same grant. Nothing else
-- revokes a token and creates one of the same grant in one transaction (issuing creates only,
-- a cancel or a token revocation revokes only, each in its own transaction), so an equal pair is
-- a rotation; a new token that would match more than one revoked token is left unlinked rather
-- than guessed.
update access_tokens t set rotated_from = o.id
from access_tokens o
where o.grant_id = t.grant_id and o.revoked_at = t.created_at and o.id <> t.id
  and (select count(*) from access_tokens x
       where x.grant_id = t.grant_id and x.revoked_at = t.created_at and x.id <> t.id) = 1;

-- When the finish sent the browser back to the client after the account holder's decision
-- (RFC 9635 §4.2.3), or answered it 202 for a client that polls; null until then, and for every
-- interaction finished before this migration (that left no trace).
alter table interactions add column finished_at timestamptz;

-- Operators find grants by wallet address: an access item's identifier (accesses_identifier_grant_idx,
-- migration 005) or the client's own address. Newest first, keyset paged in (created_at, id), as
-- the other listing indexes.
create index grants_client_created_idx on grants (client, created_at, id);
