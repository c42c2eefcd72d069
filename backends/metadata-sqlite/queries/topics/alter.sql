UPDATE topics
SET retention_ms = ?3, retention_bytes = ?4, cleanup_policy = ?5, delete_retention_ms = ?6
WHERE tenant = ?1 AND name = ?2
RETURNING id, tenant, name, partitions, retention_ms, compression, retention_bytes, cleanup_policy, delete_retention_ms, created_at_ms
