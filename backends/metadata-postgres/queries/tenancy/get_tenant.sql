SELECT id, name, plan, status, created_at_ms FROM tenants WHERE id = $1
