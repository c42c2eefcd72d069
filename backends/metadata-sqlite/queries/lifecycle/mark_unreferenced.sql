-- Stamps objects that no batch references any more with the time they were found so: the
-- grace period before their deletion starts now.
UPDATE objects SET unreferenced_at_ms = ?1
WHERE unreferenced_at_ms IS NULL
  AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = objects.id)
