SELECT holder, COUNT(*) AS leases
FROM leases
WHERE expires_at_ms > streamhouse_now_ms()
GROUP BY holder
ORDER BY holder
