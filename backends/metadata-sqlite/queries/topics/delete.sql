DELETE FROM topics
WHERE tenant = ?1 AND name = ?2
RETURNING id, tenant, name, partitions, retention_ms, compression, retention_bytes, cleanup_policy, delete_retention_ms, created_at_ms
