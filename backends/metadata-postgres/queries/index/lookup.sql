-- Index entries of a partition from the batch containing $3, in offset order.
SELECT o.key, o.size AS object_size, b.position, b.size, b.base_offset, b.end_offset, b.max_timestamp_ms
FROM batches b
JOIN objects o ON o.id = b.object_id
WHERE b.topic_id = $1
  AND b.partition = $2
  AND b.base_offset >= COALESCE(
        (SELECT max(base_offset) FROM batches
         WHERE topic_id = $1 AND partition = $2 AND base_offset <= $3), 0)
  AND b.end_offset > $3
ORDER BY b.base_offset
LIMIT $4
