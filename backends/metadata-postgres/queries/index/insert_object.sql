-- Idempotent: a flush whose multi-partition commit was refused commits the object again,
-- one partition at a time. An object garbage collection found unreferenced (a claimed
-- orphan) returns no row: it may be deleted already, and must never be referenced.
INSERT INTO objects (key, tenant, size, writer, created_at_ms)
VALUES ($1, $2, $3, $4, streamhouse_now_ms())
ON CONFLICT (key) DO UPDATE SET size = EXCLUDED.size
WHERE objects.unreferenced_at_ms IS NULL
RETURNING id
