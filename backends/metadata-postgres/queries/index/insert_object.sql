-- Idempotent: a flush whose multi-partition commit was refused commits the object again,
-- one partition at a time.
INSERT INTO objects (key, tenant, size, writer, created_at_ms)
VALUES ($1, $2, $3, $4, streamhouse_now_ms())
ON CONFLICT (key) DO UPDATE SET size = EXCLUDED.size
RETURNING id
