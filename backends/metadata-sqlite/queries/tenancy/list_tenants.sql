SELECT id, plan, created_at_ms FROM tenants ORDER BY id
