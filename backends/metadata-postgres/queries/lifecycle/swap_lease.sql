-- The compaction job's lease, locked for share: it cannot move until the swap ends.
SELECT holder, epoch, expires_at_ms
FROM leases
WHERE topic_id = $1 AND partition = $2
FOR SHARE
