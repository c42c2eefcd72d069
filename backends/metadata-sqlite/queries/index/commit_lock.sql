-- Fencing, inside the commit's write transaction (BEGIN IMMEDIATE holds the database's write
-- lock, so no lease can move and no other commit run until it ends): the high watermark and
-- lease of every partition in the commit, given as a JSON array of [topic_id, partition]
-- pairs. A partition without a lease is not returned.
SELECT p.topic_id, p.partition, p.high_watermark, l.holder, l.epoch, l.expires_at_ms
FROM partitions p
JOIN leases l ON l.topic_id = p.topic_id AND l.partition = p.partition
WHERE (p.topic_id, p.partition) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)
)
ORDER BY p.topic_id, p.partition
