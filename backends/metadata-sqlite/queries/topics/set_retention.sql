UPDATE topics SET retention_ms = ?3
WHERE tenant = ?1 AND name = ?2
RETURNING id, tenant, name, partitions, retention_ms, compression, created_at_ms
