-- Fencing, inside the commit's transaction: the high watermark and lease of every partition
-- in the commit, with the database's clock. Partition rows are locked for update (one
-- committer per partition at a time) and lease rows for share (a lease cannot move until
-- this transaction ends), in key order so concurrent commits never deadlock. A partition
-- without a lease is not returned.
SELECT p.topic_id, p.partition, p.high_watermark, l.holder, l.epoch, l.expires_at_ms,
       streamhouse_now_ms() AS now_ms
FROM partitions p
JOIN leases l ON l.topic_id = p.topic_id AND l.partition = p.partition
WHERE (p.topic_id, p.partition) IN (SELECT * FROM UNNEST($1::BIGINT[], $2::INTEGER[]))
ORDER BY p.topic_id, p.partition
FOR UPDATE OF p
FOR SHARE OF l
