-- Storage lifecycle: retention by size, cleanup policies, compaction and grace periods.
ALTER TABLE topics ADD COLUMN retention_bytes INTEGER;
ALTER TABLE topics ADD COLUMN cleanup_policy TEXT NOT NULL DEFAULT 'delete';
ALTER TABLE topics ADD COLUMN delete_retention_ms INTEGER NOT NULL DEFAULT 86400000;
-- Written by compaction (one partition's batches) rather than by a flush.
ALTER TABLE objects ADD COLUMN compacted INTEGER NOT NULL DEFAULT 0;
-- When garbage collection first found no batch referencing the object (the store's clock):
-- it is deleted a grace period later, and can never be referenced again. NULL while
-- referenced.
ALTER TABLE objects ADD COLUMN unreferenced_at_ms INTEGER;
CREATE INDEX objects_unreferenced ON objects (unreferenced_at_ms)
    WHERE unreferenced_at_ms IS NOT NULL;
-- Compaction finds its work among the flush objects only, however large the index grows.
CREATE INDEX objects_flush ON objects (id) WHERE compacted = 0;
