INSERT INTO topics (tenant, name, partitions, retention_ms, compression, retention_bytes,
                    cleanup_policy, delete_retention_ms, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, streamhouse_now_ms())
RETURNING id, created_at_ms
