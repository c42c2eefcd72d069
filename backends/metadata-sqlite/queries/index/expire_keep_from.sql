-- First offset retention keeps in a partition: the first batch holding a record at or after
-- the cutoff, or the high watermark when every batch is older. NULL row: no such partition.
SELECT COALESCE(
         (SELECT MIN(base_offset) FROM batches
          WHERE topic_id = ?1 AND partition = ?2 AND max_timestamp_ms >= ?3),
         p.high_watermark)
FROM partitions p
WHERE p.topic_id = ?1 AND p.partition = ?2
