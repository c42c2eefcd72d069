INSERT INTO objects (key, tenant, size, writer, created_at_ms, compacted)
VALUES ($1, $2, $3, $4, streamhouse_now_ms(), $5)
RETURNING id
