-- Every batch of an object in one statement (one hand-off to SQLite's worker thread, not one
-- per batch). ?1 is a JSON object: `object`, the object's id, and `batches`, an array of
-- [topic_id, partition, base_offset, end_offset, position, size, max_timestamp_ms]. A flush
-- commit runs it as the first statement of `commit_rows.sql`'s query, on the same argument.
INSERT INTO batches (topic_id, partition, base_offset, end_offset, object_id, position, size, max_timestamp_ms)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?1 ->> '$.object', value ->> 4, value ->> 5, value ->> 6
FROM json_each(?1, '$.batches')
