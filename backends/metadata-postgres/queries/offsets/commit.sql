INSERT INTO group_offsets (tenant, group_id, topic_id, partition, committed, updated_at_ms)
SELECT $1, $2, $3, p, c, streamhouse_now_ms()
FROM UNNEST($4::INTEGER[], $5::BIGINT[]) AS v(p, c)
ON CONFLICT (tenant, group_id, topic_id, partition)
DO UPDATE SET committed = excluded.committed, updated_at_ms = excluded.updated_at_ms
