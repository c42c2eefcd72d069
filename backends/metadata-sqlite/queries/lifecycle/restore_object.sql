INSERT INTO objects (key, tenant, size, writer, created_at_ms, compacted)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
RETURNING id
