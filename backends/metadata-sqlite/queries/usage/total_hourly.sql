SELECT '' AS topic, period_ms, SUM(ingress_bytes) AS ingress_bytes, SUM(ingress_records) AS ingress_records, SUM(egress_bytes) AS egress_bytes, SUM(egress_records) AS egress_records, SUM(requests) AS requests, SUM(storage_byte_hours) AS storage_byte_hours
FROM usage_hourly
WHERE tenant = ?1 AND period_ms >= ?2 AND period_ms < ?3
GROUP BY period_ms
ORDER BY period_ms
