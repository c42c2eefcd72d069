-- Inserts nothing when the organization or the user does not exist: the store reports
-- NotFound.
INSERT INTO members (tenant, user_id, role, created_at_ms)
SELECT ?1, ?2, ?3, ?4
WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ?1) AND EXISTS (SELECT 1 FROM users WHERE id = ?2)
ON CONFLICT (tenant, user_id) DO UPDATE SET role = excluded.role
