SELECT group_id, topic_id, partition, committed, updated_at_ms
FROM group_offsets
WHERE tenant = $1
ORDER BY group_id, topic_id, partition
