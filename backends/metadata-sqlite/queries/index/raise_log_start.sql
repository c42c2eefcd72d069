UPDATE partitions SET log_start_offset = MAX(log_start_offset, ?3)
WHERE topic_id = ?1 AND partition = ?2
RETURNING log_start_offset
