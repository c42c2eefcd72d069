-- Every batch of a flushed object in one statement (one hand-off to SQLite's worker thread,
-- not one per batch): ?2 is a JSON array of
-- [topic_id, partition, base_offset, end_offset, position, size, max_timestamp_ms].
INSERT INTO batches (topic_id, partition, base_offset, end_offset, object_id, position, size, max_timestamp_ms)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?1, value ->> 4, value ->> 5, value ->> 6
FROM json_each(?2)
