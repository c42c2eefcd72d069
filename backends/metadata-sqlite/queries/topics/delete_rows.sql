-- Everything of a deleted topic but its objects, which stay until garbage collection finds
-- them unreferenced.
DELETE FROM partitions WHERE topic_id = ?1;
DELETE FROM batches WHERE topic_id = ?1;
DELETE FROM leases WHERE topic_id = ?1;
DELETE FROM group_offsets WHERE topic_id = ?1;
