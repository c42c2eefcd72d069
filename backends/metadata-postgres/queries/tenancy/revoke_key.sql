-- A second revocation keeps the first time.
UPDATE api_keys SET revoked_at_ms = COALESCE(revoked_at_ms, $2)
WHERE id = $1
RETURNING id, tenant, name, permissions, topics, hash, expires_at_ms, created_at_ms, last_used_at_ms, revoked_at_ms
