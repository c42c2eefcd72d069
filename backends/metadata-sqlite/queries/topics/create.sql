INSERT INTO topics (tenant, name, partitions, retention_ms, compression, created_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
RETURNING id
