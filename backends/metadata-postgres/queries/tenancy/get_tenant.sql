SELECT id, plan, created_at_ms FROM tenants WHERE id = $1
