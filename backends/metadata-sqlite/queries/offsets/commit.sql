INSERT INTO group_offsets (tenant, group_id, topic_id, partition, committed, updated_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (tenant, group_id, topic_id, partition)
DO UPDATE SET committed = excluded.committed, updated_at_ms = excluded.updated_at_ms
