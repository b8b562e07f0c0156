-- Issue 30: what a grant's token carries beyond Rafiki's fields.
-- The label the client gave its access token request (RFC 9635 §2.1.1): every token response
-- of the grant (issued at once, at continuation, at rotation) echoes it (§3.2.1).
alter table grants add column access_token_label text;
-- The key that signed the grant request of a wallet-address client (a JWK with its kid and
-- alg), to which the grant's tokens are bound: introspection answers it as `key` (RFC 9767
-- §3.3). A directed-identity client's key is `jwk`. Null for grants made before this migration
-- or imported from Rafiki, which never recorded it.
alter table grants add column client_key jsonb;
