-- What each topic stores, and what of it still sits in flush objects (compaction's backlog).
SELECT t.tenant, t.name,
       SUM(b.size) AS bytes,
       COUNT(DISTINCT b.object_id) AS objects,
       COUNT(*) AS batches,
       SUM(CASE WHEN o.compacted = 0 THEN b.size ELSE 0 END) AS backlog_bytes,
       COUNT(DISTINCT CASE WHEN o.compacted = 0 THEN b.object_id END) AS backlog_objects
FROM batches b
JOIN objects o ON o.id = b.object_id
JOIN topics t ON t.id = b.topic_id
GROUP BY t.tenant, t.name
ORDER BY t.tenant, t.name
