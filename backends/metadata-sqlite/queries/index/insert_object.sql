-- Idempotent: a flush whose multi-partition commit was refused commits the object again,
-- one partition at a time.
INSERT INTO objects (key, tenant, size, writer, created_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (key) DO UPDATE SET size = excluded.size
RETURNING id
