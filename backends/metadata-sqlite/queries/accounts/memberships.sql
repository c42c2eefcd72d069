SELECT m.tenant, m.user_id, u.email, m.role, m.created_at_ms
FROM members m JOIN users u ON u.id = m.user_id
WHERE m.user_id = ?1
ORDER BY m.tenant
