-- Index rows of a partition from $3 on, with whether their objects are compacted ones.
SELECT o.key, o.size AS object_size, b.position, b.size, b.base_offset, b.end_offset,
       b.max_timestamp_ms, o.compacted::INT AS compacted
FROM batches b
JOIN objects o ON o.id = b.object_id
WHERE b.topic_id = $1 AND b.partition = $2 AND b.base_offset >= $3
ORDER BY b.base_offset
LIMIT $4
