SELECT partition, committed
FROM group_offsets
WHERE tenant = ?1 AND group_id = ?2 AND topic_id = ?3
ORDER BY partition
