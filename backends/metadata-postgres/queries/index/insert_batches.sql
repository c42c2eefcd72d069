-- Every batch of a flushed object in one statement, whatever the number of partitions.
INSERT INTO batches (topic_id, partition, base_offset, end_offset, object_id, position, size, max_timestamp_ms)
SELECT t, p, b, e, $1, pos, sz, ts
FROM UNNEST($2::BIGINT[], $3::INTEGER[], $4::BIGINT[], $5::BIGINT[], $6::BIGINT[], $7::INTEGER[], $8::BIGINT[])
     AS v(t, p, b, e, pos, sz, ts)
