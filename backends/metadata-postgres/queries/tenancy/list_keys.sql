SELECT id, tenant, name, permissions, topics, hash, expires_at_ms, created_at_ms, last_used_at_ms, revoked_at_ms FROM api_keys WHERE tenant = $1 ORDER BY created_at_ms, id
