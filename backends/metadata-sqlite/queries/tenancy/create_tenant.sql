INSERT INTO tenants (id, plan, created_at_ms) VALUES (?1, ?2, ?3)
