INSERT INTO objects (key, tenant, size, writer, created_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5)
RETURNING id
