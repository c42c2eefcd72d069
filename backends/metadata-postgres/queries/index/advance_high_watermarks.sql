UPDATE partitions p
SET high_watermark = v.hw
FROM UNNEST($1::BIGINT[], $2::INTEGER[], $3::BIGINT[]) AS v(topic_id, partition, hw)
WHERE p.topic_id = v.topic_id AND p.partition = v.partition
