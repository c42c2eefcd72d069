-- A last-used time never moves back. The ids are distinct (the store merges them first).
UPDATE api_keys k SET last_used_at_ms = GREATEST(COALESCE(k.last_used_at_ms, 0), u.at)
FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS u(id, at)
WHERE k.id = u.id
