SELECT o.key, EXISTS (SELECT 1 FROM batches b WHERE b.object_id = o.id) AS referenced
FROM objects o
ORDER BY o.key
