-- The high watermarks a commit advances, in one statement: ?1 is a JSON array of
-- [topic_id, partition, high_watermark].
UPDATE partitions
SET high_watermark = v.value ->> 2
FROM json_each(?1) AS v
WHERE partitions.topic_id = v.value ->> 0 AND partitions.partition = v.value ->> 1
