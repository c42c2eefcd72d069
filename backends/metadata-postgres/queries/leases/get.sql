SELECT holder, epoch, expires_at_ms
FROM leases
WHERE topic_id = $1 AND partition = $2
