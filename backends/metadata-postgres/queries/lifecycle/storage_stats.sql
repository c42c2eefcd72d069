-- What each topic stores, and what of it still sits in flush objects (compaction's backlog).
SELECT t.tenant, t.name,
       SUM(b.size)::BIGINT AS bytes,
       COUNT(DISTINCT b.object_id) AS objects,
       COUNT(*) AS batches,
       SUM(CASE WHEN o.compacted THEN 0 ELSE b.size END)::BIGINT AS backlog_bytes,
       COUNT(DISTINCT CASE WHEN o.compacted THEN NULL ELSE b.object_id END) AS backlog_objects
FROM batches b
JOIN objects o ON o.id = b.object_id
JOIN topics t ON t.id = b.topic_id
GROUP BY t.tenant, t.name
ORDER BY t.tenant, t.name
