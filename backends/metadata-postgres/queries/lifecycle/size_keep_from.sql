-- First offset retention by size keeps in a partition: the oldest batch from which the
-- newer batches hold at most $3 bytes, else the newest batch (always kept), else the high
-- watermark when there is none. Locks the partition row.
SELECT COALESCE(
         (SELECT min(base_offset) FROM (
             SELECT base_offset, SUM(size) OVER (ORDER BY base_offset DESC) AS kept
             FROM batches WHERE topic_id = $1 AND partition = $2) AS tail
          WHERE kept <= $3),
         (SELECT max(base_offset) FROM batches WHERE topic_id = $1 AND partition = $2),
         p.high_watermark)
FROM partitions p
WHERE p.topic_id = $1 AND p.partition = $2
FOR UPDATE
