-- A topic under the id it had.
INSERT INTO topics (id, tenant, name, partitions, retention_ms, compression, retention_bytes,
                    cleanup_policy, delete_retention_ms, created_at_ms)
OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
