-- Row ids become time-ordered UUIDs (version 7, RFC 9562 §5.7). A random (v4) primary key
-- sends every insert to a random leaf of its b-tree: once the indexes outgrow shared_buffers,
-- each new grant dirties pages all over them, and after every checkpoint each first touch
-- writes a full page image to the WAL. With v7 keys new rows land on the right-most leaves.
-- Only the token and continuation hashes (and the interaction ref, which must stay unguessable)
-- remain random. Rows written before this migration keep their ids.
create function opas_uuid_v7() returns uuid
language sql volatile parallel safe as $$
  -- A v4 UUID (122 random bits) with its first 48 bits replaced by the Unix time in
  -- milliseconds and its version nibble turned from 4 (0100) into 7 (0111).
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

alter table grants alter column id set default opas_uuid_v7();
alter table accesses alter column id set default opas_uuid_v7();
alter table subjects alter column id set default opas_uuid_v7();
alter table access_tokens alter column id set default opas_uuid_v7();
alter table interactions alter column id set default opas_uuid_v7();
