-- A topic under the id it had: SQLite's AUTOINCREMENT counter follows the largest id, so
-- later topics still get new ones.
INSERT INTO topics (id, tenant, name, partitions, retention_ms, compression, retention_bytes,
                    cleanup_policy, delete_retention_ms, created_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
