DELETE FROM batches
WHERE topic_id = ?1 AND partition = ?2 AND base_offset >= ?3 AND base_offset < ?4
