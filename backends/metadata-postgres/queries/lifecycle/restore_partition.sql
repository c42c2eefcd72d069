UPDATE partitions SET log_start_offset = $3, high_watermark = $4
WHERE topic_id = $1 AND partition = $2
