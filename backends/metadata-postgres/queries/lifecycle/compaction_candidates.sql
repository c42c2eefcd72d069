-- Partitions with enough rows in flush objects to compact: the partial index objects_flush
-- keeps this to the flush objects' rows.
SELECT b.topic_id, b.partition
FROM objects o
JOIN batches b ON b.object_id = o.id
WHERE NOT o.compacted
GROUP BY b.topic_id, b.partition
HAVING COUNT(*) >= $1 OR SUM(b.size) >= $2
ORDER BY b.topic_id, b.partition
