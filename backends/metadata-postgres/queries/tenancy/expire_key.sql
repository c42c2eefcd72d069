-- A key already expiring sooner keeps its expiry.
UPDATE api_keys SET expires_at_ms = CASE
    WHEN expires_at_ms IS NULL OR expires_at_ms > $2 THEN $2 ELSE expires_at_ms END
WHERE id = $1
RETURNING id, tenant, name, permissions, topics, hash, expires_at_ms, created_at_ms, last_used_at_ms, revoked_at_ms
