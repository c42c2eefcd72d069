-- Topics of one tenant, or of every tenant when $1 is NULL.
SELECT id, tenant, name, partitions, retention_ms, compression, retention_bytes, cleanup_policy, delete_retention_ms, created_at_ms
FROM topics
WHERE $1::TEXT IS NULL OR tenant = $1
ORDER BY tenant, name
