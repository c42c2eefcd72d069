-- Only while no batch references it: a racing commit can never lose its object row.
DELETE FROM objects
WHERE key = ?1
  AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = objects.id)
