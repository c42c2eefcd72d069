-- Each live agent with its last heartbeat and the unexpired partition leases it holds (job
-- leases have negative topic ids).
SELECT a.holder, a.heartbeat_at_ms, COUNT(l.holder) AS leases
FROM agents a LEFT JOIN leases l ON l.holder = a.holder AND l.topic_id >= 0 AND l.expires_at_ms > ?1
WHERE a.expires_at_ms > ?1
GROUP BY a.holder, a.heartbeat_at_ms
ORDER BY a.holder
