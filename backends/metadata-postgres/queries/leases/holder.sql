-- Who holds a lease that could not be taken, and for how much longer.
SELECT holder, expires_at_ms - streamhouse_now_ms()
FROM leases
WHERE topic_id = $1 AND partition = $2
