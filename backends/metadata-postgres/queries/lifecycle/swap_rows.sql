-- The rows a compaction replaces, as they are now, inside its transaction.
SELECT b.base_offset, o.key
FROM batches b
JOIN objects o ON o.id = b.object_id
WHERE b.topic_id = $1 AND b.partition = $2 AND b.base_offset >= $3 AND b.base_offset < $4
ORDER BY b.base_offset
