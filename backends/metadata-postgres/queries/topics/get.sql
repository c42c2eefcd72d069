SELECT id, tenant, name, partitions, retention_ms, compression, created_at_ms
FROM topics
WHERE tenant = $1 AND name = $2
