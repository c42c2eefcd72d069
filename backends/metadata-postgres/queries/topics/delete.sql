-- A topic with its partitions, index rows, leases and group offsets, in one statement; the
-- objects stay until garbage collection finds them unreferenced.
WITH topic AS (
    DELETE FROM topics WHERE tenant = $1 AND name = $2
    RETURNING id, tenant, name, partitions, retention_ms, compression, retention_bytes, cleanup_policy, delete_retention_ms, created_at_ms
), partitions AS (
    DELETE FROM partitions WHERE topic_id IN (SELECT id FROM topic)
), batches AS (
    DELETE FROM batches WHERE topic_id IN (SELECT id FROM topic)
), leases AS (
    DELETE FROM leases WHERE topic_id IN (SELECT id FROM topic)
), group_offsets AS (
    DELETE FROM group_offsets WHERE topic_id IN (SELECT id FROM topic)
)
SELECT * FROM topic
