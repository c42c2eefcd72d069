SELECT key FROM objects o
WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = o.id)
ORDER BY o.id
LIMIT ?1
