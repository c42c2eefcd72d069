-- An orphan found in the bucket, claimed for deletion: unreferenced since long ago, so the
-- next collection deletes it. An object the store knows is left alone.
INSERT INTO objects (key, tenant, size, writer, created_at_ms, unreferenced_at_ms)
VALUES (?1, ?2, ?3, 'orphan-collection', ?4, 0)
ON CONFLICT (key) DO NOTHING
RETURNING key
