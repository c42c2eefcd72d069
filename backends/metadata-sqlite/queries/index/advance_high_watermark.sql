UPDATE partitions SET high_watermark = ?3 WHERE topic_id = ?1 AND partition = ?2
