INSERT INTO tenants (id, name, plan, status, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
