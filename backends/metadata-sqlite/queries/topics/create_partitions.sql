-- Partitions 0..?3 of a new topic, in one statement.
WITH RECURSIVE p(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM p WHERE n + 1 < ?3)
INSERT INTO partitions (topic_id, partition, tenant)
SELECT ?1, n, ?2 FROM p
