SELECT partition, log_start_offset, high_watermark
FROM partitions
WHERE topic_id = ?1 AND partition = ?2
