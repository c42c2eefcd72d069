-- Inserts nothing when the tenant does not exist: the store reports NotFound.
INSERT INTO api_keys (id, tenant, name, permissions, topics, hash, expires_at_ms, created_at_ms, last_used_at_ms, revoked_at_ms)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL
WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)
