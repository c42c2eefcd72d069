-- Objects unreferenced since at least ?1, oldest first.
SELECT key FROM objects o
WHERE o.unreferenced_at_ms <= ?1
  AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = o.id)
ORDER BY o.unreferenced_at_ms, o.id
LIMIT ?2
