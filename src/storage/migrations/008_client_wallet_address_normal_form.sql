-- A client's wallet address is stored in one spelling (normalizeWalletAddress in
-- src/gnap/client-identity.ts): every spelling of one address is one client, whose grants a search
-- by any spelling finds. This rewrites the grants stored before, for the addresses whose normal
-- form is certain here: http(s), an ASCII host name or canonical IPv4 address, a path of plain
-- URL characters. Each was fetched through WHATWG URL parsing when its client was verified, so it
-- parses; this does what that parsing and the normaliser do to such a URL: the scheme and host in
-- lower case, no default port, no dot segments (RFC 3986 §6.2.2.1, §6.2.2.3, §6.2.3), escapes of
-- unreserved characters decoded and the others in upper case (§6.2.2.2), no trailing slash.
-- Anything else is left as it is: it is read in its normal form (storedClient), so its client
-- keeps one rate-limit budget, and only a search by address may miss it.
create function pg_temp.opas_normal_wallet_address(address text) returns text
language plpgsql immutable as $$
declare
  parts text[];
  scheme text;
  host text;
  port text := '';
  segments text[];
  resolved text[] := '{}';
  n integer;
  path text;
begin
  parts := regexp_match(address,
    '^([Hh][Tt][Tt][Pp][Ss]?)://([A-Za-z0-9.-]+)(:[0-9]{0,5})?(/[A-Za-z0-9._~!$&''()*+,;=:@%/-]*)?$');
  if parts is null then return address; end if;
  scheme := lower(parts[1]);
  host := lower(parts[2]);
  -- A host whose last label is a number is an IPv4 address to WHATWG, in any of several
  -- spellings: only the canonical dotted quad is certain.
  if host ~ '(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$'
     and host !~ '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$' then
    return address;
  end if;
  if coalesce(parts[3], ':') <> ':' then
    port := ':' || substr(parts[3], 2)::integer::text;
    if (scheme = 'https' and port = ':443') or (scheme = 'http' and port = ':80') then
      port := '';
    end if;
  end if;
  -- WHATWG's path parsing: "." and ".." segments, plain or escaped, in any case.
  segments := string_to_array(substr(coalesce(parts[4], '/'), 2), '/');
  n := coalesce(array_length(segments, 1), 0);
  for i in 1..n loop
    if lower(segments[i]) in ('..', '.%2e', '%2e.', '%2e%2e') then
      resolved := resolved[1:coalesce(array_length(resolved, 1), 0) - 1];
      if i = n then resolved := resolved || ''::text; end if;
    elsif lower(segments[i]) in ('.', '%2e') then
      if i = n then resolved := resolved || ''::text; end if;
    else
      resolved := resolved || segments[i];
    end if;
  end loop;
  path := '/' || array_to_string(resolved, '/');
  -- RFC 3986 §6.2.2.2: escapes of unreserved characters decoded, the others in upper case.
  select string_agg(
           case
             when t[1] !~ '^%[0-9A-Fa-f]{2}$' then t[1]
             when chr(get_byte(decode(substr(t[1], 2), 'hex'), 0)) ~ '^[A-Za-z0-9._~-]$'
               then chr(get_byte(decode(substr(t[1], 2), 'hex'), 0))
             else upper(t[1])
           end, '' order by k)
    into path
    from regexp_matches(path, '%[0-9A-Fa-f]{2}|[^%]+|%', 'g') with ordinality as m(t, k);
  return scheme || '://' || host || port || rtrim(path, '/');
end
$$;

-- Only rows that may change are read: a capital, an escape, a port, a dot segment, a trailing
-- slash.
update grants set client = pg_temp.opas_normal_wallet_address(client)
where client ~ '[A-Z%]|://[^/]*:|/\.|/$'
  and client <> pg_temp.opas_normal_wallet_address(client);

drop function pg_temp.opas_normal_wallet_address(text);
