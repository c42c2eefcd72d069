SELECT topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours
FROM usage_hourly
WHERE tenant = ?1 AND period_ms >= ?2 AND period_ms < ?3 AND topic <> '*'
ORDER BY period_ms, topic
