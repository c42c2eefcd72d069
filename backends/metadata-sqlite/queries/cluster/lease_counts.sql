SELECT holder, COUNT(*) AS leases
FROM leases
WHERE expires_at_ms > ?1
GROUP BY holder
ORDER BY holder
