-- A last-used time never moves back.
UPDATE api_keys SET last_used_at_ms = max(COALESCE(last_used_at_ms, 0), ?2) WHERE id = ?1
