INSERT INTO batches (topic_id, partition, base_offset, end_offset, object_id, position, size, max_timestamp_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
