-- A compaction's swap locks the partition row, as retention and commits do, so none of them
-- changes its rows meanwhile, and reads the database's clock. No row: the partition is gone.
SELECT streamhouse_now_ms() AS now_ms
FROM partitions
WHERE topic_id = $1 AND partition = $2
FOR UPDATE
